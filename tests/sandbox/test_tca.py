"""TCA checks, balance lists, messaging and perks of the sandbox, over loopback (demo seed)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx2
import pytest

from tca_gate import sign_tokenly_request
from tests.support.sandboxes import Sandbox, running_sandbox

DEMO_RULE = {"TOKENLY": "1", "LTBCOIN": "10000", "stackop_1": "OR"}
TREASURY = "18BF18zG8x13tXrJ6H9bbbFAGbRofqK6y8"
ALICE_MAIN = "12Fengv9kjnt69gb27oXESKnURwBfs9P34"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


@pytest.fixture(scope="module")
def tokens(sandbox: Sandbox) -> dict[str, str]:
    scopes = ["user", "tca", "private-balances"]
    return {name: sandbox.access_token(name, scopes) for name in ("alice", "bob", "carol")}


def _check(sandbox: Sandbox, username: str, token: str, rule: dict[str, str]) -> httpx2.Response:
    return sandbox.api("GET", f"tca/check/{username}", params=rule, oauth_token=token)


@pytest.mark.parametrize(
    ("username", "passes"), [("alice", True), ("bob", False), ("carol", False)]
)
def test_the_demo_users_against_the_demo_rule(
    sandbox: Sandbox, tokens: dict[str, str], username: str, passes: bool
) -> None:
    answer = _check(sandbox, username, tokens[username], DEMO_RULE)
    assert answer.status_code == 200
    assert answer.json() == {"result": passes}


def test_private_addresses_count_for_tca(sandbox: Sandbox, tokens: dict[str, str]) -> None:
    # alice's public address holds 12,500.5 LTBCOIN, her private one 3,000 more.
    assert _check(sandbox, "alice", tokens["alice"], {"LTBCOIN": "15500.5"}).json()["result"]
    assert not _check(sandbox, "alice", tokens["alice"], {"LTBCOIN": "15500.6"}).json()["result"]


def test_credentials_in_the_query_are_not_rule_content(
    sandbox: Sandbox, tokens: dict[str, str]
) -> None:
    rule = {"TOKENLY": "1", "client_id": "x", "scope": "tca", "state": "99"}
    assert _check(sandbox, "alice", tokens["alice"], rule).json() == {"result": True}
    # Nothing but credentials: no clauses, which denies everyone.
    assert _check(sandbox, "alice", tokens["alice"], {}).json() == {"result": False}


def test_an_unknown_user_is_404(sandbox: Sandbox, tokens: dict[str, str]) -> None:
    answer = _check(sandbox, "nobody", tokens["alice"], DEMO_RULE)
    assert answer.status_code == 404
    assert answer.json()["result"] is False
    assert answer.json()["error"] == "Username not found"


def test_another_users_token_is_refused(sandbox: Sandbox, tokens: dict[str, str]) -> None:
    answer = _check(sandbox, "alice", tokens["carol"], DEMO_RULE)
    assert answer.status_code == 403
    assert answer.json()["field"] == "oauth_token"


def test_a_token_without_the_tca_scope_is_refused(sandbox: Sandbox) -> None:
    token = sandbox.access_token("alice", ["user"])
    answer = _check(sandbox, "alice", token, DEMO_RULE)
    assert answer.status_code == 403
    assert "tca" in answer.json()["error"]


def test_a_missing_or_unknown_token_is_401(sandbox: Sandbox) -> None:
    for token in (None, "not-a-token"):
        answer = sandbox.api("GET", "tca/check/alice", params=DEMO_RULE, oauth_token=token)
        assert answer.status_code == 401
        assert answer.json() == {
            "error": answer.json()["error"],
            "field": "oauth_token",
            "result": False,
        }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Tokenly-Auth-Api-Token": "demo-app", "X-Tokenly-Auth-Nonce": "1"},
    ],
)
def test_unsigned_or_badly_signed_calls_are_401(sandbox: Sandbox, headers: dict[str, str]) -> None:
    answer = httpx2.get(f"{sandbox.url}/api/v1/lookup/user/alice", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["result"] is False


def test_a_wrong_secret_is_401(sandbox: Sandbox) -> None:
    answer = sandbox.api("GET", "lookup/user/alice", client_secret="wrong")
    assert answer.status_code == 401
    assert "signature" in answer.json()["error"]


def test_check_address_needs_no_app_signature(sandbox: Sandbox) -> None:
    # The official client calls it without signing (api-docs: "Authentication: none").
    url = f"{sandbox.url}/api/v1/tca/check-address/{ALICE_MAIN}"
    assert httpx2.get(url, params={"TOKENLY": "2"}).json() == {"result": True}
    assert httpx2.get(url, params={"TOKENLY": "3"}).json() == {"result": False}


def test_check_address(sandbox: Sandbox) -> None:
    path = f"tca/check-address/{ALICE_MAIN}"
    assert sandbox.api("GET", path, params={"TOKENLY": "2"}).json() == {"result": True}
    assert sandbox.api("GET", path, params={"TOKENLY": "3"}).json() == {"result": False}


def test_check_address_refuses_a_bad_address(sandbox: Sandbox) -> None:
    answer = sandbox.api("GET", "tca/check-address/1NotAnAddress", params=DEMO_RULE)
    assert answer.status_code == 400
    assert answer.json() == {"error": "Invalid address", "field": "address", "result": False}


def test_public_and_protected_balances(sandbox: Sandbox, tokens: dict[str, str]) -> None:
    public = sandbox.api("GET", "tca/public/balances", oauth_token=tokens["alice"])
    assert public.json() == [
        {"asset": "LTBCOIN", "name": "LTBCOIN", "balance": 12500.5, "balanceSat": "1250050000000"},
        {"asset": "TOKENLY", "name": "TOKENLY", "balance": 2.0, "balanceSat": "200000000"},
    ]
    protected = sandbox.api("GET", "tca/protected/balances", oauth_token=tokens["alice"])
    assert [entry["balanceSat"] for entry in protected.json()] == ["1550050000000", "200000000"]
    assert sandbox.api("GET", "tca/public/balances", oauth_token=tokens["carol"]).json() == []


def test_protected_balances_need_their_scope(sandbox: Sandbox) -> None:
    token = sandbox.access_token("alice", ["user", "tca"])
    answer = sandbox.api("GET", "tca/protected/balances", oauth_token=token)
    assert answer.status_code == 403
    assert "result" not in answer.json()


@pytest.mark.parametrize(
    "path", ["tca/messenger/privileges/TOKENLY", "tca/messenger/token/TOKENLY"]
)
def test_messaging_permission(sandbox: Sandbox, tokens: dict[str, str], path: str) -> None:
    assert sandbox.api("GET", path, oauth_token=tokens["alice"]).json() == {
        "token": "TOKENLY",
        "canMessage": True,
    }
    assert sandbox.api("GET", path, oauth_token=tokens["carol"]).json()["canMessage"] is False


def test_token_perks(sandbox: Sandbox) -> None:
    assert httpx2.get(f"{sandbox.url}/api/v1/perks/TOKENLY").json() == {
        "token": "TOKENLY",
        "chatCount": 3,
    }
    assert httpx2.get(f"{sandbox.url}/api/v1/perks/NOPERKS").json()["chatCount"] == 0


def test_a_promise_lifts_bob_over_the_rule(sandbox: Sandbox, tokens: dict[str, str]) -> None:
    promise = sandbox.api(
        "POST",
        "tca/provisional/tx",
        body={
            "source": TREASURY,
            "destination": "user:bob",
            "asset": "LTBCOIN",
            "quantity": 1200 * 10**8,
            "expiration": None,
        },
    )
    assert promise.status_code == 200, promise.text
    try:
        assert _check(sandbox, "bob", tokens["bob"], DEMO_RULE).json() == {"result": True}
    finally:
        promise_id = promise.json()["tx"]["promise_id"]
        assert sandbox.api("DELETE", f"tca/provisional/tx/{promise_id}").status_code == 200
    assert _check(sandbox, "bob", tokens["bob"], DEMO_RULE).json() == {"result": False}


def test_two_hundred_concurrent_checks_all_succeed(
    sandbox: Sandbox, tokens: dict[str, str]
) -> None:
    url = f"{sandbox.url}/api/v1/tca/check/alice"

    async def check_all() -> list[httpx2.Response]:
        limits = httpx2.Limits(max_connections=200)
        async with httpx2.AsyncClient(limits=limits, timeout=30) as http:
            requests = [
                http.get(
                    url,
                    params=DEMO_RULE | {"oauth_token": tokens["alice"]},
                    headers=sign_tokenly_request(
                        "GET", url, None, sandbox.client_id, sandbox.client_secret
                    ),
                )
                for _ in range(200)
            ]
            return await asyncio.gather(*requests)

    answers = asyncio.run(check_all())
    assert [answer.status_code for answer in answers] == [200] * 200
    assert all(json.loads(answer.text) == {"result": True} for answer in answers)


def test_replay_protection_is_an_option() -> None:
    with running_sandbox(replay_protection=True) as sandbox:
        url = f"{sandbox.url}/api/v1/lookup/user/alice"
        headers = sign_tokenly_request("GET", url, None, sandbox.client_id, sandbox.client_secret)
        assert httpx2.get(url, headers=headers).status_code == 200
        again = httpx2.get(url, headers=headers)
        assert again.status_code == 401
        assert "already used" in again.json()["error"]
