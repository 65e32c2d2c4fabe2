"""Promises and provisional sources of the sandbox, over loopback (test seed)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from tca_gate.signing.bitcoin import address_from_private_key, sign_message
from tests.support.clocks import ManualClock
from tests.support.sandboxes import OTHER_APP, TEST_SEED, Sandbox, running_sandbox

TREASURY = "1MqU5zdT8kg6dpfjHMKyijtvCbxc8zbfeq"
DANA_PUBLIC = "1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt"
ERIN = "1L9qoEk7XSwHpdFApse85szxtgTdrKGqs2"
SAT = 10**8


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_700_000_000.0)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with running_sandbox(TEST_SEED, clock=clock) as running:
        yield running


def _promise(sandbox: Sandbox, **fields: Any) -> Any:
    body = {
        "source": TREASURY,
        "destination": "user:erin",
        "asset": "LTBCOIN",
        "quantity": 1000 * SAT,
        "expiration": None,
    } | fields
    return sandbox.api("POST", "tca/provisional/tx", body=body)


def _balances(sandbox: Sandbox, token: str) -> dict[str, str]:
    answer = sandbox.api("GET", "tca/protected/balances", oauth_token=token)
    return {entry["asset"]: entry["balanceSat"] for entry in answer.json()}


def _address_check(sandbox: Sandbox, address: str, rule: dict[str, str]) -> bool:
    result: bool = sandbox.api("GET", f"tca/check-address/{address}", params=rule).json()["result"]
    return result


def test_a_promise_adds_to_the_destination_and_counts_against_the_source(
    sandbox: Sandbox,
) -> None:
    token = sandbox.access_token("erin", ["user", "tca", "private-balances"])
    assert _balances(sandbox, token) == {"LTBCOIN": "1"}
    answer = _promise(sandbox, ref="order-1", note="welcome")
    assert answer.status_code == 200, answer.text
    tx = answer.json()["tx"]
    assert answer.json()["result"] is True
    assert {key: tx[key] for key in ("source", "destination", "asset", "quantity", "ref")} == {
        "source": TREASURY,
        "destination": "user:erin",
        "asset": "LTBCOIN",
        "quantity": 1000 * SAT,
        "ref": "order-1",
    }
    assert tx["pseudo"] is False
    assert tx["expiration"] is None
    assert _balances(sandbox, token) == {"LTBCOIN": str(1000 * SAT + 1)}
    assert _address_check(sandbox, TREASURY, {"LTBCOIN": "4000"})
    assert not _address_check(sandbox, TREASURY, {"LTBCOIN": "4000.00000001"})


def test_a_promise_to_an_address_counts_for_it(sandbox: Sandbox) -> None:
    assert _promise(sandbox, destination=DANA_PUBLIC, quantity=4900 * SAT).status_code == 200
    assert _address_check(sandbox, DANA_PUBLIC, {"LTBCOIN": "5000"})


def test_promises_cannot_exceed_the_real_balance_less_what_is_promised(sandbox: Sandbox) -> None:
    too_much = _promise(sandbox, quantity=5000 * SAT + 1)
    assert too_much.status_code == 422
    assert too_much.json()["field"] == "quantity"
    assert _promise(sandbox, quantity=3000 * SAT).status_code == 200
    second = _promise(sandbox, quantity=2000 * SAT + 1)
    assert second.status_code == 422
    assert _promise(sandbox, quantity=2000 * SAT).status_code == 200
    listed = sandbox.api("GET", "tca/provisional/tx").json()["list"]
    assert [tx["quantity"] for tx in listed] == [3000 * SAT, 2000 * SAT]


def test_an_expired_promise_counts_for_nobody(sandbox: Sandbox, clock: ManualClock) -> None:
    token = sandbox.access_token("erin", ["user", "tca", "private-balances"])
    answer = _promise(sandbox, expiration=int(clock.now) + 60)
    assert answer.status_code == 200
    promise_id = answer.json()["tx"]["promise_id"]
    assert _balances(sandbox, token)["LTBCOIN"] == str(1000 * SAT + 1)
    clock.now += 61
    assert _balances(sandbox, token) == {"LTBCOIN": "1"}
    assert sandbox.api("GET", "tca/provisional/tx").json()["list"] == []
    assert sandbox.api("GET", f"tca/provisional/tx/{promise_id}").status_code == 404
    assert _promise(sandbox, quantity=5000 * SAT).status_code == 200  # the source is free again


def test_an_expiration_in_the_past_is_refused(sandbox: Sandbox, clock: ManualClock) -> None:
    answer = _promise(sandbox, expiration=int(clock.now) - 1)
    assert answer.status_code == 422
    assert answer.json()["field"] == "expiration"


def test_update_and_delete_a_promise(sandbox: Sandbox, clock: ManualClock) -> None:
    promise_id = _promise(sandbox).json()["tx"]["promise_id"]
    path = f"tca/provisional/tx/{promise_id}"
    updated = sandbox.api(
        "PATCH", path, body={"quantity": 5000 * SAT, "txid": "ab" * 32, "expiration": 2 * 10**9}
    )
    assert updated.status_code == 200, updated.text
    tx = updated.json()["tx"]
    assert (tx["quantity"], tx["txid"], tx["expiration"]) == (5000 * SAT, "ab" * 32, 2 * 10**9)
    over = sandbox.api("PATCH", path, body={"quantity": 5000 * SAT + 1})
    assert over.status_code == 422
    assert sandbox.api("GET", path).json()["tx"]["quantity"] == 5000 * SAT
    assert sandbox.api("DELETE", path).json() == {"result": True}
    assert sandbox.api("GET", path).status_code == 404


def test_promises_belong_to_the_app_that_made_them(sandbox: Sandbox) -> None:
    promise_id = _promise(sandbox).json()["tx"]["promise_id"]
    assert sandbox.api("GET", f"tca/provisional/tx/{promise_id}", **OTHER_APP).status_code == 404
    assert sandbox.api("GET", "tca/provisional/tx", **OTHER_APP).json()["list"] == []
    refused = sandbox.api(
        "POST",
        "tca/provisional/tx",
        body={"source": TREASURY, "destination": ERIN, "asset": "LTBCOIN", "quantity": 1},
        **OTHER_APP,
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "source"


def test_list_filters_by_destination(sandbox: Sandbox) -> None:
    _promise(sandbox, quantity=SAT)
    _promise(sandbox, destination=ERIN, quantity=SAT)
    listed = sandbox.api("GET", "tca/provisional/tx", params={"destination": ERIN}).json()["list"]
    assert [tx["destination"] for tx in listed] == [ERIN]


def test_register_a_source_with_a_proof(sandbox: Sandbox) -> None:
    key = hashlib.sha256(b"tca-gate sandbox test source").digest()
    address = address_from_private_key(key)
    listing = sandbox.api("GET", "tca/provisional").json()
    suffix = listing["proof_suffix"]
    assert suffix == "_" + hashlib.sha256(sandbox.client_id.encode()).hexdigest()
    wrong = sandbox.api(
        "POST",
        "tca/provisional/register",
        body={"address": address, "proof": sign_message(key, address), "assets": None},
    )
    assert wrong.status_code == 400
    assert wrong.json()["field"] == "proof"
    proof = sign_message(key, address + suffix)
    registered = sandbox.api(
        "POST",
        "tca/provisional/register",
        body={"address": address, "proof": proof, "assets": "TOKENLY,LTBCOIN"},
    )
    assert registered.json() == {"result": True}
    whitelist = sandbox.api("GET", "tca/provisional").json()["whitelist"]
    assert {
        "address": address,
        "assets": ["TOKENLY", "LTBCOIN"],
        "chain": "bitcoin",
        "protocol": "counterparty",
    } in whitelist
    sandbox.set_balance(address, "TOKENLY", 5 * SAT)
    assert _promise(sandbox, source=address, asset="TOKENLY", quantity=5 * SAT).status_code == 200
    not_listed = _promise(sandbox, source=address, asset="OTHER", quantity=1)
    assert not_listed.status_code == 422
    assert not_listed.json()["field"] == "asset"
    assert sandbox.api("DELETE", f"tca/provisional/{address}").json() == {"result": True}
    assert sandbox.api("DELETE", f"tca/provisional/{address}").status_code == 404


def test_the_destination_filter_reads_a_user_as_promises_store_it(sandbox: Sandbox) -> None:
    _promise(sandbox, destination="user:ERIN", quantity=SAT)
    _promise(sandbox, destination=ERIN, quantity=SAT)
    listed = sandbox.api("GET", "tca/provisional/tx", params={"destination": "user:Erin"})
    assert [tx["destination"] for tx in listed.json()["list"]] == ["user:erin"]
    unknown = sandbox.api("GET", "tca/provisional/tx", params={"destination": "user:nobody"})
    assert (unknown.status_code, unknown.json()["field"]) == (422, "destination")


def test_a_promise_from_a_source_no_longer_whitelisted_cannot_be_updated(
    sandbox: Sandbox,
) -> None:
    promise_id = _promise(sandbox).json()["tx"]["promise_id"]
    assert sandbox.api("DELETE", f"tca/provisional/{TREASURY}").json() == {"result": True}
    path = f"tca/provisional/tx/{promise_id}"
    answer = sandbox.api("PATCH", path, body={"quantity": 2000 * SAT})
    assert (answer.status_code, answer.json()["field"]) == (422, "source")
    assert sandbox.api("GET", path).json()["tx"]["quantity"] == 1000 * SAT
