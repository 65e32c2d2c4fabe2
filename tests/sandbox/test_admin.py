"""The sandbox-only endpoints (balances, faults, admin token) and refusals of malformed input."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2
import pytest

from tests.support.sandboxes import TEST_SEED, Sandbox, running_sandbox

TREASURY = "1MqU5zdT8kg6dpfjHMKyijtvCbxc8zbfeq"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(TEST_SEED, admin_token="admin-secret") as running:
        yield running


def _check(sandbox: Sandbox, rule: dict[str, str]) -> httpx2.Response:
    return sandbox.api("GET", f"tca/check-address/{TREASURY}", params=rule)


def test_set_balance_changes_what_checks_see(sandbox: Sandbox) -> None:
    assert not _check(sandbox, {"NEWCOIN": "1"}).json()["result"]
    sandbox.set_balance(TREASURY, "NEWCOIN", 10**8)
    assert _check(sandbox, {"NEWCOIN": "1"}).json()["result"]


def test_the_admin_token_guards_the_sandbox_endpoints(sandbox: Sandbox) -> None:
    url = f"{sandbox.url}/sandbox/balances/{TREASURY}/NEWCOIN"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        answer = httpx2.put(url, json={"balance_sat": 1}, headers=headers)
        assert answer.status_code == 401
    assert not _check(sandbox, {"NEWCOIN": "0.00000001"}).json()["result"]


def test_injected_errors_answer_then_stop(sandbox: Sandbox) -> None:
    sandbox.inject_faults(503, 2)
    assert [_check(sandbox, {}).status_code for _ in range(3)] == [503, 503, 200]


def test_an_injected_429_carries_retry_after(sandbox: Sandbox) -> None:
    sandbox.inject_faults(429, 1, retry_after=7, path_prefix="/api/v1/tca/check-address/")
    assert sandbox.api("GET", "perks/TOKENLY").status_code == 200  # not under the prefix
    answer = _check(sandbox, {})
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "7"


def test_an_injected_delay_slows_a_good_answer(sandbox: Sandbox) -> None:
    sandbox.inject_faults(200, 1, delay=0.3)
    started = time.monotonic()
    answer = _check(sandbox, {"LTBCOIN": "1"})
    assert time.monotonic() - started >= 0.3
    assert answer.json() == {"result": True}


def test_faults_can_be_cleared(sandbox: Sandbox) -> None:
    sandbox.inject_faults(500, 5)
    assert sandbox.admin("DELETE", "faults").json() == {"cleared": 5}
    assert _check(sandbox, {}).status_code == 200


def test_bad_json_is_a_400_naming_the_body(sandbox: Sandbox) -> None:
    answer = httpx2.post(
        f"{sandbox.url}/api/v1/tca/provisional/tx",
        content="{not json",
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["field"] == "body"


@pytest.mark.parametrize(
    ("change", "field", "status"),
    [
        ({"quantity": -5}, "quantity", 422),
        ({"quantity": "lots"}, "quantity", 422),
        ({"quantity": 10**40}, "quantity", 422),
        ({"quantity": True}, "quantity", 422),
        ({"asset": 7}, "asset", 422),
        ({"source": "1BadAddress"}, "source", 400),
        ({"destination": "user:nobody"}, "destination", 422),
        ({"expiration": "soon"}, "expiration", 422),
        ({"note": ["a"]}, "note", 422),
    ],
)
def test_malformed_fields_are_refused_by_name(
    sandbox: Sandbox, change: dict[str, object], field: str, status: int
) -> None:
    body = {
        "source": TREASURY,
        "destination": "user:dana",
        "asset": "LTBCOIN",
        "quantity": 1,
        "expiration": None,
    }
    answer = sandbox.api("POST", "tca/provisional/tx", body=body | change)
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field
    assert answer.json()["result"] is False
    assert sandbox.api("GET", "tca/provisional/tx").json()["list"] == []


def test_missing_fields_are_422(sandbox: Sandbox) -> None:
    answer = sandbox.api("POST", "tca/provisional/tx", body={"source": TREASURY})
    assert answer.status_code == 422
    assert answer.json()["field"] == "destination"


def test_unknown_ids_are_404(sandbox: Sandbox) -> None:
    for path in ("tca/provisional/tx/999", "tca/provisional/tx/x", "credits/nope/accounts"):
        answer = sandbox.api("GET", path)
        assert answer.status_code == 404, path
        assert "error" in answer.json()


def test_unknown_paths_and_methods_answer_json(sandbox: Sandbox) -> None:
    assert httpx2.get(f"{sandbox.url}/api/v1/nowhere").json() == {"error": "Not Found"}
    assert httpx2.put(f"{sandbox.url}/api/v1/perks/TOKENLY").status_code == 405


def test_bad_fault_requests_are_refused(sandbox: Sandbox) -> None:
    for body, field in (
        ({"status": 99, "count": 1}, "status"),
        ({"status": 500, "count": 0}, "count"),
        ({"status": 500, "count": 1, "delay": 99}, "delay"),
    ):
        answer = sandbox.admin("POST", "faults", body)
        assert answer.status_code == 422
        assert answer.json()["field"] == field
