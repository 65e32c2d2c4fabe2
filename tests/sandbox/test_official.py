"""The sandbox as the official Tokenpass client meets it, over loopback (issue 10).

Requests are built the way tokenpass-client v1.3.0 to v3.0.1 builds them (through
tokenly/api-client): the user's token as ``Authorization: Bearer``, a JSON body
written as PHP's ``json_encode`` writes it and signed with Tokenly HMAC over its
``JSON_FORCE_OBJECT`` form, a DELETE's parameters in its query. The algorithm is
written here; the signing is the project's ``sign_tokenly_request``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import httpx2
import pytest

from tca_gate import sign_tokenly_request
from tca_gate.signing.bitcoin import address_from_private_key, sign_message
from tca_gate.tokenpass import SCOPES
from tests.support.data import FIXTURES
from tests.support.sandboxes import Sandbox, running_sandbox

SEED = FIXTURES / "sandbox" / "official.toml"
PUBLIC = "1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt"
PRIVATE = "1DqupSozZdgmCGkD3vWwGEnr3txZDK45c2"
UNVERIFIED = "1KsgmWewaz6qT2ftw2ix55UU1SoxnNYLVY"
ERIN = "1L9qoEk7XSwHpdFApse85szxtgTdrKGqs2"
TREASURY = "1MqU5zdT8kg6dpfjHMKyijtvCbxc8zbfeq"
ALL_SCOPES = list(SCOPES)  # every scope Tokenpass grants


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(SEED) as running:
        yield running


def _force_object(value: Any) -> Any:
    """``value`` as PHP's ``JSON_FORCE_OBJECT`` encodes it: every list an object "0", "1"..."""
    if isinstance(value, list):
        return {str(index): _force_object(item) for index, item in enumerate(value)}
    if isinstance(value, dict):
        return {key: _force_object(item) for key, item in value.items()}
    return value


def _php(
    sandbox: Sandbox,
    method: str,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    token: str | None = None,
    client: tuple[str, str] | None = None,
) -> httpx2.Response:
    """A call to ``/api/v1/{path}`` as the official PHP client sends it (header mode)."""
    url = f"{sandbox.url}/api/v1/{path}"
    api_token, secret = client or (sandbox.client_id, sandbox.client_secret)
    params = dict(params or {})
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if method in ("GET", "DELETE"):
        signed = params if method == "DELETE" else None
        headers |= sign_tokenly_request(method, url, signed, api_token, secret)
        return httpx2.request(method, url, params=params, headers=headers)
    body = json.dumps(params, separators=(",", ":")) if params else ""
    headers |= sign_tokenly_request(method, url, _force_object(params), api_token, secret)
    headers |= {"Content-Type": "application/json", "Accept": "application/json"}
    return httpx2.request(method, url, content=body, headers=headers)


def _key(name: str) -> bytes:
    return hashlib.sha256(f"tca-gate official client test key {name}".encode()).digest()


# The user's token: a parameter or a Bearer header, never two different ones


def test_the_token_as_a_bearer_header(sandbox: Sandbox) -> None:
    token = sandbox.access_token("dana", ["user", "tca"])
    answer = _php(sandbox, "GET", "tca/addresses", token=token)
    assert answer.status_code == 200, answer.text
    assert [entry["address"] for entry in answer.json()["result"]] == [PUBLIC]
    check = _php(sandbox, "GET", "tca/check/dana", token=token)
    assert check.json() == {"result": False}  # no rule: no clauses, nobody passes


def test_the_token_in_both_places_must_be_the_same(sandbox: Sandbox) -> None:
    token = sandbox.access_token("dana", ["user", "tca"])
    other = sandbox.access_token("dana", ["user", "tca"])
    url = f"{sandbox.url}/api/v1/tca/addresses"
    signed = sign_tokenly_request("GET", url, None, sandbox.client_id, sandbox.client_secret)

    def call(query: dict[str, str], bearer: str | None) -> httpx2.Response:
        headers = signed | ({"Authorization": f"Bearer {bearer}"} if bearer else {})
        return httpx2.get(url, params=query, headers=headers)

    assert call({"oauth_token": token}, token).status_code == 200
    differ = call({"oauth_token": token}, other)
    assert differ.status_code == 400
    assert differ.json()["field"] == "oauth_token"
    assert token not in differ.text
    assert other not in differ.text
    missing = call({}, None)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json() == {
        "error": missing.json()["error"],
        "field": "oauth_token",
        "result": False,
    }


def test_a_bearer_token_on_a_signed_post(sandbox: Sandbox) -> None:
    token = sandbox.access_token("fay", ALL_SCOPES)
    address = address_from_private_key(_key("fay bearer"))
    params = {"address": address, "label": "a/b", "public": False, "active": True}
    answer = _php(sandbox, "POST", "tca/address", params | {"type": "bitcoin"}, token=token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["label"] == "a/b"
    code = answer.json()["result"]["verify_code"]
    signature = sign_message(_key("fay bearer"), code)
    proved = _php(sandbox, "POST", f"tca/address/{address}", {"signature": signature}, token=token)
    assert proved.json() == {"result": True}
    removed = _php(sandbox, "DELETE", f"tca/address/{address}", token=token)
    assert removed.json() == {"result": True}


def test_admin_and_user_bearer_tokens_stay_apart() -> None:
    with running_sandbox(SEED, admin_token="the-admin-token") as sandbox:
        user = sandbox.access_token("dana", ["user", "tca"])
        with_user_token = httpx2.delete(
            f"{sandbox.url}/sandbox/faults", headers={"Authorization": f"Bearer {user}"}
        )
        assert with_user_token.status_code == 401
        with_admin_token = _php(sandbox, "GET", "tca/addresses", token="the-admin-token")
        assert with_admin_token.status_code == 401
        assert with_admin_token.json()["field"] == "oauth_token"
        assert sandbox.admin("DELETE", "faults").status_code == 200


# Paths, and which calls are signed


def test_multi_address_lookup_as_the_official_client_sends_it(sandbox: Sandbox) -> None:
    params = {"address_list": [PUBLIC, PRIVATE, ERIN]}
    answer = _php(sandbox, "POST", "lookup/address/null", params)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == {
        PUBLIC: {"username": "dana", "address": PUBLIC, "email": "dana@example.com"},
        ERIN: {"username": "erin", "address": ERIN, "email": "erin@example.com"},
    }
    assert _php(sandbox, "POST", "lookup/addresses", params).json() == answer.json()


def test_calls_the_official_client_does_not_sign(sandbox: Sandbox) -> None:
    url = f"{sandbox.url}/api/v1"
    assert httpx2.get(
        f"{url}/tca/check-address/{ERIN}", params={"LTBCOIN": "0.00000001"}
    ).json() == {"result": True}
    assert httpx2.get(f"{url}/perks/TOKENLY").json() == {"token": "TOKENLY", "chatCount": 3}
    key = _key("instant")
    address, msg = address_from_private_key(key), sandbox.instant_verify_code("fay")
    body = {"msg": msg, "address": address, "sig": sign_message(key, msg)}
    assert httpx2.post(f"{url}/instant-verify/fay", json=body).json() == {"result": True}
    account = {"username": "gil", "password": "gil-password", "email": "gil@example.com"}
    registered = httpx2.post(f"{url}/register", json=account | {"client_id": "other-app"})
    assert registered.status_code == 200, registered.text
    assert registered.json()["result"]["username"] == "gil"
    unknown = httpx2.post(
        f"{url}/register", json=account | {"username": "hal", "client_id": "no-such-app"}
    )
    assert unknown.status_code == 403
    assert unknown.json()["field"] == "client_id"


# Scopes


@pytest.mark.parametrize("path", ["tca/addresses", f"tca/address/{PUBLIC}"])
def test_the_personal_address_calls_need_the_tca_scope(sandbox: Sandbox, path: str) -> None:
    token = sandbox.access_token("dana", ["user", "private-address", "manage-address"])
    answer = _php(sandbox, "GET", path, token=token)
    assert answer.status_code == 403
    assert "'tca'" in answer.json()["error"]


def test_verify_code_comes_with_manage_address_for_unverified_addresses(sandbox: Sandbox) -> None:
    managing = sandbox.access_token("dana", ["user", "tca", "private-address", "manage-address"])
    details = _php(sandbox, "GET", f"tca/address/{UNVERIFIED}", token=managing).json()["result"]
    assert details["verified"] is False
    assert details["verify_code"]
    listed = _php(sandbox, "GET", "tca/addresses", token=managing).json()["result"]
    codes = {entry["address"]: entry.get("verify_code") for entry in listed}
    assert codes[UNVERIFIED] == details["verify_code"]
    assert codes[PUBLIC] is None  # verified: nothing left to sign
    reading = sandbox.access_token("dana", ["user", "tca", "private-address"])
    plain = _php(sandbox, "GET", f"tca/address/{UNVERIFIED}", token=reading).json()["result"]
    assert plain["address"] == UNVERIFIED
    assert {"verify_code", "verified", "active"}.isdisjoint(plain)


# Calls of the official client beyond the seed's list


def test_token_access_by_email_is_for_privileged_apps(sandbox: Sandbox) -> None:
    def check(email: str, rule: dict[str, str], **options: Any) -> httpx2.Response:
        return sandbox.api("GET", f"tca/checkemail/{email}", params=rule, **options)

    # dana holds 100 LTBCOIN on her public address and 900 on her private one.
    assert check("dana@example.com", {"LTBCOIN": "1000"}).json() == {"result": True}
    assert check("DANA@EXAMPLE.COM", {"LTBCOIN": "1000"}).json() == {"result": True}
    assert check("dana@example.com", {"LTBCOIN": "1000.00000001"}).json() == {"result": False}
    assert check("nobody@example.com", {"LTBCOIN": "0.00000001"}).json() == {"result": False}
    assert check("not-an-email", {"LTBCOIN": "1"}).status_code == 400
    other = check(
        "dana@example.com",
        {"LTBCOIN": "1"},
        client_id="other-app",
        client_secret="other-app-secret",
    )
    assert other.status_code == 403
    assert other.json()["result"] is False


def test_promises_and_users_by_email(sandbox: Sandbox) -> None:
    made = [
        _php(
            sandbox,
            "POST",
            "tca/provisional/tx",
            {"source": TREASURY, "destination": to, "asset": "LTBCOIN", "quantity": 1},
        ).json()["tx"]["promise_id"]
        for to in ("user:DANA", PUBLIC, "user:erin")
    ]
    listed = _php(sandbox, "GET", "tca/provisional/byemail/dana@example.com").json()
    assert listed["result"] is True
    mine = [promise["promise_id"] for promise in listed["list"] if promise["promise_id"] in made]
    assert mine == made[:2]
    empty = _php(sandbox, "GET", "tca/provisional/byemail/nobody@example.com").json()
    assert empty == {"result": True, "list": []}
    assert _php(sandbox, "GET", "lookup/email/dana@example.com").json() == {
        "result": {"username": "dana", "address": PUBLIC, "email": "dana@example.com"}
    }
    no_address = _php(sandbox, "GET", "lookup/email/fay@example.com").json()["result"]
    assert no_address == {"username": "fay", "address": None, "email": "fay@example.com"}
    unknown = _php(sandbox, "GET", "lookup/email/nobody@example.com")
    assert (unknown.status_code, unknown.json()["field"]) == (404, "email")


def test_a_promise_by_txid_or_fingerprint(sandbox: Sandbox) -> None:
    txid = hashlib.sha256(b"a real transaction").hexdigest()
    body = {
        "source": TREASURY,
        "destination": "user:erin",
        "asset": "TOKENLY",
        "quantity": 1,
        "txid": txid,
        "fingerprint": "fingerprint-1",
    }
    made = _php(sandbox, "POST", "tca/provisional/tx", body).json()["tx"]
    by_txid = _php(sandbox, "GET", f"tca/provisional/tx/{txid}").json()["tx"]
    assert by_txid == made
    updated = _php(sandbox, "PATCH", "tca/provisional/tx/fingerprint-1", {"note": "on its way"})
    assert updated.json()["tx"]["note"] == "on its way"
    assert updated.json()["tx"]["promise_id"] == made["promise_id"]
    twin = _php(sandbox, "POST", "tca/provisional/tx", body | {"fingerprint": "fingerprint-2"})
    ambiguous = _php(sandbox, "GET", f"tca/provisional/tx/{txid}")
    assert ambiguous.status_code == 409
    assert _php(sandbox, "DELETE", "tca/provisional/tx/fingerprint-2").json() == {"result": True}
    assert _php(sandbox, "DELETE", f"tca/provisional/tx/{txid}").json() == {"result": True}
    for reference in (txid, "fingerprint-1", str(twin.json()["tx"]["promise_id"])):
        assert _php(sandbox, "GET", f"tca/provisional/tx/{reference}").status_code == 404


@pytest.mark.parametrize(
    ("chain", "asset", "divisible"),
    [
        ("bitcoin", "TOKENLY", False),
        ("bitcoin", "LTBCOIN", True),
        ("bitcoinTestnet", "LTBCOIN", False),
        ("bitcoin", "NEVERSEEN", True),
    ],
)
def test_asset_info_tells_divisibility(
    sandbox: Sandbox, chain: str, asset: str, divisible: bool
) -> None:
    answer = _php(sandbox, "GET", f"tca/asset/{chain}/{asset}")
    assert answer.json() == {
        "result": {
            "chain": chain,
            "asset": asset,
            "divisible": divisible,
            "divisibility": 8 if divisible else 0,
        }
    }


def test_asset_info_refuses_a_bad_chain(sandbox: Sandbox) -> None:
    answer = _php(sandbox, "GET", "tca/asset/9chain/TOKENLY")
    assert (answer.status_code, answer.json()["field"]) == (400, "chain")


def test_chain_and_protocol_are_stored_and_returned(sandbox: Sandbox) -> None:
    body = {"source": TREASURY, "destination": "user:erin", "asset": "TOKENLY", "quantity": 1}
    default = _php(sandbox, "POST", "tca/provisional/tx", body).json()["tx"]
    assert (default["chain"], default["protocol"]) == ("bitcoin", "counterparty")
    chosen = _php(
        sandbox,
        "POST",
        "tca/provisional/tx",
        body | {"chain": "bitcoinTestnet", "protocol": "counterparty", "expiration": None},
    ).json()["tx"]
    read = _php(sandbox, "GET", f"tca/provisional/tx/{chosen['promise_id']}").json()["tx"]
    assert (read["chain"], read["protocol"]) == ("bitcoinTestnet", "counterparty")
    bad = _php(sandbox, "POST", "tca/provisional/tx", body | {"chain": "no chain!"})
    assert (bad.status_code, bad.json()["field"]) == (422, "chain")
    key = _key("source")
    address = address_from_private_key(key)
    suffix = "_" + hashlib.sha256(sandbox.client_id.encode()).hexdigest()
    source = {"address": address, "proof": sign_message(key, address + suffix), "assets": None}
    # The official client names the chain "type"; chain and protocol are read too.
    registered = _php(
        sandbox, "POST", "tca/provisional/register", source | {"type": "bitcoinTestnet"}
    )
    assert registered.json() == {"result": True}
    whitelist = _php(sandbox, "GET", "tca/provisional").json()["whitelist"]
    entry = next(entry for entry in whitelist if entry["address"] == address)
    assert entry == {
        "address": address,
        "assets": None,
        "chain": "bitcoinTestnet",
        "protocol": "counterparty",
    }
    both = source | {"type": "bitcoin", "chain": "bitcoinTestnet"}
    clash = _php(sandbox, "POST", "tca/provisional/register", both)
    assert (clash.status_code, clash.json()["field"]) == (422, "type")


def test_token_chats(sandbox: Sandbox) -> None:
    dana, erin, fay = (sandbox.access_token(name, ALL_SCOPES) for name in ("dana", "erin", "fay"))
    rules = [{"token": "LTBCOIN", "quantity": 1}]
    created = _php(
        sandbox,
        "POST",
        "chats",
        {"name": "Holders", "tca_rules": rules, "active": True},
        token=dana,
    )
    assert created.status_code == 200, created.text
    chat = created.json()
    assert (chat["name"], chat["active"], chat["global"], chat["tca_rules"]) == (
        "Holders",
        True,
        False,
        rules,
    )
    path = f"chat/{chat['id']}"
    assert _php(sandbox, "GET", path, token=dana).json() == chat
    more = [*rules, {"token": "TOKENLY", "quantity": 100000000}]
    edited = _php(sandbox, "POST", path, {"name": "Holders 2", "tca_rules": more}, token=dana)
    assert (edited.json()["name"], edited.json()["tca_rules"]) == ("Holders 2", more)
    # erin holds one satoshi of LTBCOIN and meets the chat; fay holds nothing.
    assert _php(sandbox, "GET", path, token=erin).status_code == 403
    roster = f"tca/messenger/roster/{chat['id']}"
    assert _php(sandbox, "POST", roster, token=erin).json() == {"result": True}
    refused = _php(sandbox, "POST", roster, token=fay)
    assert refused.status_code == 403
    erins = {
        entry["id"]: entry
        for entry in _php(sandbox, "GET", "tca/messenger/chats", token=erin).json()
    }
    assert erins[chat["id"]]["joined"] is True
    fays = _php(sandbox, "GET", "tca/messenger/chats", token=fay).json()
    assert chat["id"] not in [entry["id"] for entry in fays]
    assert _php(sandbox, "DELETE", path, token=erin).status_code == 403
    assert _php(sandbox, "DELETE", path, token=dana).json() == {"result": True}
    assert _php(sandbox, "GET", path, token=dana).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "tca/messenger/chats"), ("POST", "chats"), ("POST", "tca/messenger/roster/x")],
)
def test_token_chats_need_the_manage_chats_scope(sandbox: Sandbox, method: str, path: str) -> None:
    token = sandbox.access_token("dana", ["user", "tca"])
    answer = _php(sandbox, method, path, {"name": "No"} if method == "POST" else None, token=token)
    assert answer.status_code == 403
    assert "'manage-chats'" in answer.json()["error"]


def test_chat_rules_are_checked(sandbox: Sandbox) -> None:
    token = sandbox.access_token("dana", ALL_SCOPES)
    for rules, where in (
        ("LTBCOIN", "tca_rules"),
        ([{"token": "LTBCOIN"}], "tca_rules[0]"),
        ([{"token": "LTBCOIN", "quantity": -1}], "tca_rules[0]"),
        ([{"token": "LTBCOIN", "quantity": "9" * 5000}], "tca_rules[0]"),
    ):
        answer = _php(sandbox, "POST", "chats", {"name": "Bad", "tca_rules": rules}, token=token)
        assert (answer.status_code, answer.json()["field"]) == (422, where), rules


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_logout_ends_the_token(sandbox: Sandbox, method: str) -> None:
    token = sandbox.access_token("dana", ["user", "tca"])
    kept = sandbox.access_token("dana", ["user", "tca"])
    assert _php(sandbox, method, "oauth/logout", token=token).json() == {"result": True}
    after = _php(sandbox, "GET", "tca/addresses", token=token)
    assert after.status_code == 401
    assert sandbox.api("GET", "tca/addresses", oauth_token=token).status_code == 401
    assert _php(sandbox, method, "oauth/logout", token=token).status_code == 401
    assert _php(sandbox, "GET", "tca/addresses", token=kept).status_code == 200


def test_seeded_sources_and_promises_keep_their_chain(sandbox: Sandbox) -> None:
    other = ("other-app", "other-app-secret")
    whitelist = _php(sandbox, "GET", "tca/provisional", client=other).json()["whitelist"]
    assert whitelist == [
        {"address": TREASURY, "assets": None, "chain": "bitcoinTestnet", "protocol": "counterparty"}
    ]
    promise = _php(sandbox, "GET", "tca/provisional/tx/seeded-txid", client=other).json()["tx"]
    assert (promise["destination"], promise["chain"], promise["protocol"]) == (
        "user:fay",
        "bitcoinTestnet",
        "counterparty",
    )
    # Another app's promise is not this app's to read, by id or by txid.
    assert _php(sandbox, "GET", "tca/provisional/tx/seeded-txid").status_code == 404
