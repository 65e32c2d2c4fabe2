"""App credits of the sandbox, a double-entry ledger, over loopback (test seed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.sandboxes import OTHER_APP, TEST_SEED, Sandbox, running_sandbox

DANA_UUID = "11111111-2222-4333-8444-555555555501"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(TEST_SEED) as running:
        yield running


def _group(sandbox: Sandbox, **fields: Any) -> dict[str, Any]:
    answer = sandbox.api("POST", "credits", body={"name": "Store credits"} | fields)
    assert answer.status_code == 200, answer.text
    group: dict[str, Any] = answer.json()["credit_group"]
    return group


def _account(sandbox: Sandbox, group: str, name: str) -> dict[str, Any]:
    answer = sandbox.api("POST", f"credits/{group}/accounts", body={"name": name})
    assert answer.status_code == 200, answer.text
    account: dict[str, Any] = answer.json()["account"]
    return account


def _history_sum(sandbox: Sandbox, group: str) -> int:
    transactions = sandbox.api("GET", f"credits/{group}/history").json()["transactions"]
    return sum(int(tx["amount"]) for tx in transactions)


def test_give_and_take_keep_the_ledger_balanced(sandbox: Sandbox) -> None:
    group = _group(sandbox)["uuid"]
    dana = _account(sandbox, group, DANA_UUID)
    assert dana["tokenpass_user"] == {"uuid": DANA_UUID, "slug": "dana", "username": "dana"}
    shop = _account(sandbox, group, "shop")
    assert shop["tokenpass_user"] is False
    given = sandbox.api(
        "POST",
        f"credits/{group}/accounts/credit",
        body={"accounts": [{"account": DANA_UUID, "amount": 500, "ref": "r1"}]},
    )
    assert given.status_code == 200, given.text
    (pair,) = given.json()["transactions"]
    assert (pair["credit"]["amount"], pair["debit"]["amount"]) == ("500", "-500")
    assert pair["debit"]["account"] == "_"
    assert pair["credit"]["tokenpass_user"] == "dana"
    taken = sandbox.api(
        "POST",
        f"credits/{group}/accounts/debit",
        body={"accounts": [{"account": dana["uuid"], "amount": 200, "destination": "shop"}]},
    )
    assert taken.status_code == 200, taken.text
    balances = {
        account["name"]: account["balance"]
        for account in sandbox.api("GET", f"credits/{group}/accounts").json()["accounts"]
    }
    assert balances == {"_": -500, DANA_UUID: 300, "shop": 200}
    assert _history_sum(sandbox, group) == 0
    history = sandbox.api("GET", f"credits/{group}/accounts/shop/history").json()
    assert history["count"] == 1
    assert history["account"]["balance"] == 200


def test_a_take_below_zero_writes_nothing(sandbox: Sandbox) -> None:
    group = _group(sandbox)["uuid"]
    _account(sandbox, group, "a")
    _account(sandbox, group, "b")
    sandbox.api(
        "POST",
        f"credits/{group}/accounts/credit",
        body={"accounts": [{"account": "a", "amount": 10}]},
    )
    answer = sandbox.api(
        "POST",
        f"credits/{group}/accounts/debit",
        body={"accounts": [{"account": "a", "amount": 5}, {"account": "b", "amount": 1}]},
    )
    assert answer.status_code == 422
    assert "'b'" in answer.json()["error"]
    assert sandbox.api("GET", f"credits/{group}/accounts/a").json()["account"]["balance"] == 10
    assert sandbox.api("GET", f"credits/{group}/history").json()["count"] == 2


def test_a_bad_entry_names_its_place(sandbox: Sandbox) -> None:
    group = _group(sandbox)["uuid"]
    _account(sandbox, group, "a")
    answer = sandbox.api(
        "POST",
        f"credits/{group}/accounts/credit",
        body={"accounts": [{"account": "a", "amount": 1}, {"account": "a", "amount": -3}]},
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == "accounts[1].amount"
    assert sandbox.api("GET", f"credits/{group}/history").json()["count"] == 0


def test_only_whitelisted_apps_may_use_a_group(sandbox: Sandbox) -> None:
    private = _group(sandbox)["uuid"]
    assert sandbox.api("GET", f"credits/{private}", **OTHER_APP).status_code == 403
    shared = _group(sandbox, name="Shared", app_whitelist="other-app\nthird-app")
    assert shared["app_whitelist"] == ["other-app", "third-app"]
    assert sandbox.api("GET", f"credits/{shared['uuid']}", **OTHER_APP).status_code == 200
    listed = sandbox.api("GET", "credits", **OTHER_APP).json()["list"]
    assert [group["uuid"] for group in listed] == [shared["uuid"]]


def test_update_a_group_and_duplicate_accounts(sandbox: Sandbox) -> None:
    group = _group(sandbox)["uuid"]
    renamed = sandbox.api("PATCH", f"credits/{group}", body={"name": "Renamed"})
    assert renamed.json()["credit_group"]["name"] == "Renamed"
    _account(sandbox, group, "a")
    again = sandbox.api("POST", f"credits/{group}/accounts", body={"name": "a"})
    assert again.status_code == 409
    assert sandbox.api("GET", f"credits/{group}/accounts/nobody").status_code == 404
    assert sandbox.api("GET", "credits/no-such-group").status_code == 404


def test_only_the_owner_app_may_rename_a_group_or_change_its_whitelist(sandbox: Sandbox) -> None:
    group = _group(sandbox, app_whitelist="other-app")
    path = f"credits/{group['uuid']}"
    for change in ({"app_whitelist": "other-app\nthird-app"}, {"name": "Taken over"}):
        refused = sandbox.api("PATCH", path, body=change, **OTHER_APP)
        assert (refused.status_code, refused.json()["field"]) == (403, "group"), change
    assert sandbox.api("GET", path).json()["credit_group"] == group
    renamed = sandbox.api("PATCH", path, body={"name": "Renamed"})
    assert renamed.json()["credit_group"]["name"] == "Renamed"
