"""The Tokenpass client: each call's request as docs/tokenpass-api.md says, and its values."""

from __future__ import annotations

import asyncio
import inspect
import json
import subprocess
import sys
import typing
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx2
import pytest

from tca_gate import InvalidArgumentError, __version__, compile_rule
from tca_gate.errors import ClientClosedError, MalformedResponseError, ServiceError
from tca_gate.service import Endpoint
from tca_gate.signing.tokenly._scheme import API_TOKEN_HEADER, SIGNATURE_HEADER
from tca_gate.tokenpass import (
    UNCHANGED,
    Address,
    AssetInfo,
    AsyncTokenpassClient,
    Balance,
    Chat,
    ChatRule,
    CreditTransfer,
    LinkedUser,
    OAuthToken,
    OAuthUser,
    Promise,
    SourceAddress,
    TokenpassClient,
    UserLookup,
    balances_by_asset,
)

BASE = "https://tokenpass.example"
ADDRESS = "1BoatSLRHtKNngkdXEeobR76b53LbtpyT"
T = "oauth-token"
PASSWORD = "hunter2-password"
STAMP = "2024-03-01 12:30:00"
WHEN = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)

ADDRESS_JSON = {
    "address": ADDRESS,
    "balances": {"LTBCOIN": 150000000, "SOUP": "12345678901234567890123"},
    "public": True,
    "label": "savings",
    "active": True,
    "verified": False,
    "verify_code": "abc123",
}
ADDRESS_VALUE = Address(
    ADDRESS,
    {"LTBCOIN": 150000000, "SOUP": 12345678901234567890123},
    public=True,
    label="savings",
    active=True,
    verified=False,
    verify_code="abc123",
)
PROMISE_JSON = {
    "promise_id": 7,
    "source": ADDRESS,
    "destination": "user:alice",
    "asset": "TOKENLY",
    "quantity": 500000000,
    "fingerprint": None,
    "txid": None,
    "ref": "order-1",
    "note": None,
    "expiration": 1900000000,
    "pseudo": False,
    "created_at": STAMP,
    "updated_at": STAMP,
}
PROMISE_VALUE = Promise(
    7, ADDRESS, "user:alice", "TOKENLY", 500000000, 1900000000, False,
    None, None, "order-1", None, WHEN, WHEN,
)  # fmt: skip
GROUP_JSON = {
    "name": "Points",
    "uuid": "g-1",
    "active": True,
    "app_whitelist": ["client-id"],
    "created_at": STAMP,
    "updated_at": STAMP,
}
ACCOUNT_JSON = {
    "name": "u-1",
    "uuid": "a-1",
    "balance": 40,
    "tokenpass_user": {"uuid": "u-1", "slug": "alice", "username": "alice"},
    "created_at": STAMP,
    "updated_at": STAMP,
}
TX_JSON = {
    "credit_group": "g-1",
    "account": "u-1",
    "account_uuid": "a-1",
    "tokenpass_user": False,
    "tx_uuid": "t-1",
    "amount": "-40",
    "ref": None,
    "created_at": STAMP,
    "updated_at": STAMP,
}
LOOKUP_JSON = {"username": "alice", "address": ADDRESS, "email": "alice@example.com"}
ASSET_JSON = {"chain": "bitcoin", "asset": "TOKENLY", "divisible": True, "divisibility": 8}
CHAT_JSON = {
    "id": "c-1",
    "name": "VIP",
    "active": True,
    "global": False,
    "tca_rules": [{"token": "TOKENLY", "quantity": 100000000}],
    "joined": False,
    "created_at": STAMP,
    "updated_at": STAMP,
}
CHAT_VALUE = Chat(
    "c-1", "VIP", active=True, global_=False, tca_rules=(ChatRule("TOKENLY", 100000000),),
    joined=False, created_at=WHEN, updated_at=WHEN,
)  # fmt: skip
LOOKUP_VALUE = UserLookup("alice", ADDRESS, "alice@example.com")

# method, args, kwargs, HTTP method, path, query, JSON body (None: none), answer; query and
# body as the official PHP client sends them, with the user's token as ``oauth_token``
Row = tuple[str, tuple[Any, ...], dict[str, Any], str, str, list[tuple[str, str]], Any, Any]
CALLS: list[Row] = [
    ("check_token_access", ("alice", "LTBCOIN=1000&LTBSTAFF=1&stackop_1=OR", T), {}, "GET",
     "/api/v1/tca/check/alice",
     [("LTBCOIN", "1000"), ("LTBSTAFF", "1"), ("stackop_1", "OR"), ("oauth_token", T)], None,
     {"result": True}),
    ("check_address_token_access", (ADDRESS, {"LTBCOIN": 1000}), {}, "GET",
     f"/api/v1/tca/check-address/{ADDRESS}", [("LTBCOIN", "1000")], None, {"result": False}),
    ("get_combined_public_balances", (T,), {}, "GET", "/api/v1/tca/public/balances",
     [("oauth_token", T)], None, []),
    ("get_combined_protected_balances", (T,), {}, "GET", "/api/v1/tca/protected/balances",
     [("oauth_token", T)], None, {}),
    ("check_token_access_by_email", ("alice@example.com", "LTBCOIN=1000"), {}, "GET",
     "/api/v1/tca/checkemail/alice@example.com", [("LTBCOIN", "1000")], None, {"result": True}),
    ("get_asset_info", ("bitcoin", "TOKENLY"), {}, "GET", "/api/v1/tca/asset/bitcoin/TOKENLY",
     [], None, {"result": ASSET_JSON}),
    ("get_messaging_permission", ("LTBCOIN", T), {}, "GET",
     "/api/v1/tca/messenger/privileges/LTBCOIN", [("oauth_token", T)], None,
     {"token": "LTBCOIN", "canMessage": True}),
    ("get_token_perks", ("LTBCOIN",), {}, "GET", "/api/v1/perks/LTBCOIN", [], None,
     {"token": "LTBCOIN", "chatCount": 2}),
    ("get_public_addresses", ("alice",), {}, "GET", "/api/v1/tca/addresses/alice", [], None,
     {"result": [ADDRESS_JSON]}),
    ("get_public_address_details", ("alice", ADDRESS), {}, "GET",
     f"/api/v1/tca/addresses/alice/{ADDRESS}", [], None, {"result": ADDRESS_JSON}),
    ("get_addresses_for_authenticated_user", (T,), {}, "GET", "/api/v1/tca/addresses",
     [("oauth_token", T)], None, {"result": [ADDRESS_JSON]}),
    ("get_address_details_for_authenticated_user", (ADDRESS, T), {}, "GET",
     f"/api/v1/tca/address/{ADDRESS}", [("oauth_token", T)], None, {"result": ADDRESS_JSON}),
    ("register_address", (ADDRESS, T), {"label": "savings"}, "POST", "/api/v1/tca/address", [],
     {"address": ADDRESS, "label": "savings", "public": False, "active": True, "type": "bitcoin",
      "oauth_token": T}, {"result": ADDRESS_JSON}),
    ("verify_address", (ADDRESS, T, "H+sig="), {}, "POST", f"/api/v1/tca/address/{ADDRESS}", [],
     {"signature": "H+sig=", "oauth_token": T}, {"result": True}),
    ("update_address_details", (ADDRESS, T), {"public": True}, "PATCH",
     f"/api/v1/tca/address/{ADDRESS}", [], {"public": True, "oauth_token": T},
     {"result": ADDRESS_JSON}),
    ("delete_address", (ADDRESS, T), {}, "DELETE", f"/api/v1/tca/address/{ADDRESS}",
     [("oauth_token", T)], None, {"result": True}),
    ("instant_verify_address", ("alice", "msg-1", ADDRESS, "H+sig="), {}, "POST",
     "/api/v1/instant-verify/alice", [], {"msg": "msg-1", "address": ADDRESS, "sig": "H+sig="},
     {"result": True}),
    ("lookup_user_by_address", (ADDRESS,), {}, "GET", f"/api/v1/lookup/address/{ADDRESS}", [],
     None, {"result": LOOKUP_JSON}),
    ("lookup_users_by_addresses", ([ADDRESS],), {}, "POST", "/api/v1/lookup/address/null", [],
     {"address_list": [ADDRESS]}, {"result": {ADDRESS: LOOKUP_JSON}}),
    ("lookup_user_by_email", ("alice@example.com",), {}, "GET",
     "/api/v1/lookup/email/alice@example.com", [], None,
     {"result": {**LOOKUP_JSON, "address": None}}),
    ("lookup_address_by_user", ("alice",), {}, "GET", "/api/v1/lookup/user/alice", [], None,
     {"result": LOOKUP_JSON}),
    ("register_account", ("bob", PASSWORD, "bob@example.com"), {}, "POST", "/api/v1/register", [],
     {"client_id": "client-id", "username": "bob", "password": PASSWORD,
      "email": "bob@example.com"},
     {"result": {"id": "u-2", "username": "bob", "email": "bob@example.com"}}),
    ("register_provisional_source", (ADDRESS, "H+proof="), {"assets": ["TOKENLY"]}, "POST",
     "/api/v1/tca/provisional/register", [],
     {"address": ADDRESS, "type": "bitcoin", "proof": "H+proof=", "assets": ["TOKENLY"]},
     {"result": True}),
    ("get_provisional_source_list", (), {}, "GET", "/api/v1/tca/provisional", [], None,
     {"result": True, "proof_suffix": "_ab", "whitelist": [{"address": ADDRESS, "assets": None}]}),
    ("delete_provisional_source", (ADDRESS,), {}, "DELETE", f"/api/v1/tca/provisional/{ADDRESS}",
     [], None, {"result": True}),
    ("promise_transaction", (ADDRESS, "user:alice", "TOKENLY", 500000000),
     {"expiration": 1900000000, "ref": "order-1"}, "POST", "/api/v1/tca/provisional/tx", [],
     {"source": ADDRESS, "destination": "user:alice", "asset": "TOKENLY", "quantity": 500000000,
      "expiration": 1900000000, "chain": "bitcoin", "protocol": "counterparty", "ref": "order-1"},
     {"result": True, "tx": PROMISE_JSON}),
    ("get_promised_transaction_list", (), {"destination": "user:alice"}, "GET",
     "/api/v1/tca/provisional/tx", [("destination", "user:alice")], None,
     {"result": True, "list": [PROMISE_JSON]}),
    ("get_promised_transaction_list_by_email_address", ("alice@example.com",), {}, "GET",
     "/api/v1/tca/provisional/byemail/alice@example.com", [], None,
     {"result": True, "list": [PROMISE_JSON]}),
    ("get_promised_transaction", (7,), {}, "GET", "/api/v1/tca/provisional/tx/7", [], None,
     {"result": True, "tx": PROMISE_JSON}),
    ("get_promised_transaction", ("ab" * 32,), {}, "GET",
     f"/api/v1/tca/provisional/tx/{'ab' * 32}", [], None, {"result": True, "tx": PROMISE_JSON}),
    ("update_promised_transaction", (7,), {"quantity": 1, "note": "n"}, "PATCH",
     "/api/v1/tca/provisional/tx/7", [], {"quantity": 1, "note": "n"},
     {"result": True, "tx": PROMISE_JSON}),
    ("delete_promised_transaction", (7,), {}, "DELETE", "/api/v1/tca/provisional/tx/7", [], None,
     {"result": True}),
    ("new_app_credit_group", ("Points", ["client-id"]), {}, "POST", "/api/v1/credits", [],
     {"name": "Points", "app_whitelist": ["client-id"]}, {"credit_group": GROUP_JSON}),
    ("update_app_credit_group", ("g-1",), {"name": "Pts"}, "PATCH", "/api/v1/credits/g-1", [],
     {"name": "Pts"}, {"credit_group": GROUP_JSON}),
    ("list_app_credit_groups", (), {}, "GET", "/api/v1/credits", [], None, {"list": [GROUP_JSON]}),
    ("get_app_credit_group", ("g-1",), {}, "GET", "/api/v1/credits/g-1", [], None,
     {"credit_group": GROUP_JSON}),
    ("get_app_credit_group_history", ("g-1",), {}, "GET", "/api/v1/credits/g-1/history", [], None,
     {"credit_group": GROUP_JSON, "transactions": [TX_JSON], "count": 1}),
    ("list_app_credit_accounts", ("g-1",), {}, "GET", "/api/v1/credits/g-1/accounts", [], None,
     {"accounts": [ACCOUNT_JSON]}),
    ("new_app_credit_account", ("g-1", "u-1"), {}, "POST", "/api/v1/credits/g-1/accounts", [],
     {"name": "u-1"}, {"account": ACCOUNT_JSON}),
    ("get_app_credit_account", ("g-1", "u-1"), {}, "GET", "/api/v1/credits/g-1/accounts/u-1", [],
     None, {"account": ACCOUNT_JSON}),
    ("get_app_credit_account_history", ("g-1", "a-1"), {}, "GET",
     "/api/v1/credits/g-1/accounts/a-1/history", [], None,
     {"account": ACCOUNT_JSON, "transactions": {"0": TX_JSON}, "count": 1}),
    ("give_multiple_app_credit", ("g-1", [{"account": "u-1", "amount": 40, "ref": "r"}]), {},
     "POST", "/api/v1/credits/g-1/accounts/credit", [],
     {"accounts": [{"account": "u-1", "amount": 40, "ref": "r"}]},
     {"transactions": [{"credit": TX_JSON, "debit": TX_JSON}]}),
    ("give_app_credit", ("g-1", "u-1", 40), {"source": "pool"}, "POST",
     "/api/v1/credits/g-1/accounts/credit", [],
     {"accounts": [{"account": "u-1", "amount": 40, "source": "pool"}]},
     {"transactions": [{"credit": TX_JSON, "debit": TX_JSON}]}),
    ("take_multiple_app_credit", ("g-1", [{"account": "u-1", "amount": 5}]), {}, "POST",
     "/api/v1/credits/g-1/accounts/debit", [], {"accounts": [{"account": "u-1", "amount": 5}]},
     {"transactions": [{"debit": TX_JSON, "credit": TX_JSON}]}),
    ("take_app_credit", ("g-1", "u-1", 5), {"ref": "r"}, "POST",
     "/api/v1/credits/g-1/accounts/debit", [],
     {"accounts": [{"account": "u-1", "amount": 5, "ref": "r"}]},
     {"transactions": [{"debit": TX_JSON, "credit": TX_JSON}]}),
    ("logout", (T,), {}, "POST", "/api/v1/oauth/logout", [], {"oauth_token": T},
     {"result": True}),
    ("get_chats", (T,), {}, "GET", "/api/v1/tca/messenger/chats", [("oauth_token", T)], None,
     [CHAT_JSON]),
    ("create_chat", (T, "VIP", [ChatRule("TOKENLY", 100000000)]), {}, "POST", "/api/v1/chats", [],
     {"name": "VIP", "active": True, "global": False,
      "tca_rules": [{"token": "TOKENLY", "quantity": 100000000}], "oauth_token": T}, CHAT_JSON),
    ("get_chat", (T, "c-1"), {}, "GET", "/api/v1/chat/c-1", [("oauth_token", T)], None,
     CHAT_JSON),
    ("edit_chat", (T, "c-1"), {"active": False, "global_": True}, "POST", "/api/v1/chat/c-1", [],
     {"active": False, "global": True, "oauth_token": T}, CHAT_JSON),
    ("delete_chat", (T, "c-1"), {}, "DELETE", "/api/v1/chat/c-1", [("oauth_token", T)], None,
     {"result": True}),
    ("join_chat", (T, "c-1"), {}, "POST", "/api/v1/tca/messenger/roster/c-1", [],
     {"oauth_token": T}, {"result": True}),
]  # fmt: skip


class Recorder:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return httpx2.Response(200, json=self.answer)


def sync_client(handler: Any, **options: Any) -> TokenpassClient:
    return TokenpassClient(
        BASE, "client-id", "client-secret", transport=httpx2.MockTransport(handler), **options
    )


def without_token(
    query: list[tuple[str, str]], body: Any
) -> tuple[list[tuple[str, str]], Any, str | None]:
    """A row's query and body without the user's token, and the token they carried."""
    kept = [(key, value) for key, value in query if key != "oauth_token"]
    token = T if len(kept) < len(query) else None
    if isinstance(body, dict) and "oauth_token" in body:
        body = {key: value for key, value in body.items() if key != "oauth_token"}
        token = T
    return kept, body, token


@pytest.mark.parametrize("bearer", [True, False], ids=["bearer", "parameter"])
@pytest.mark.parametrize("row", CALLS, ids=[call[0] for call in CALLS])
def test_each_call_sends_what_the_contract_says(row: Row, bearer: bool) -> None:
    name, args, kwargs, method, path, query, body, answer = row
    recorder = Recorder(answer)
    with sync_client(recorder, bearer=bearer) as tokenpass:
        getattr(tokenpass, name)(*args, **kwargs)
    [request] = recorder.requests
    kept, rest, token = without_token(query, body)
    if bearer:
        query, body = kept, rest
        assert request.headers.get("authorization") == (token and f"Bearer {token}")
        assert T.encode() not in request.url.raw_path
    else:
        assert "authorization" not in request.headers
    assert (request.method, request.url.path) == (method, path)
    assert parse_qsl(request.url.query.decode(), keep_blank_values=True) == query
    if body is None:
        assert request.content == b""
    else:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == body
        assert request.content == json.dumps(body, separators=(",", ":")).encode()
    signed = name != "get_token_perks"
    assert (SIGNATURE_HEADER.lower() in request.headers) is signed
    if signed:
        assert request.headers[API_TOKEN_HEADER] == "client-id"


def test_the_async_client_has_every_method_with_the_same_signature() -> None:
    async def compare(sync: TokenpassClient) -> None:
        async with AsyncTokenpassClient(BASE, "client-id", "client-secret") as asynchronous:
            for name, *_ in CALLS:
                assert getattr(TokenpassClient, name) is getattr(AsyncTokenpassClient, name)
                assert inspect.signature(getattr(sync, name)) == inspect.signature(
                    getattr(asynchronous, name)
                )
                assert getattr(sync, name).__doc__ == getattr(asynchronous, name).__doc__

    with sync_client(Recorder({})) as sync:
        asyncio.run(compare(sync))
        assert list(inspect.signature(sync.check_token_access).parameters) == [
            "username",
            "rules",
            "oauth_token",
        ]
    documented = {name for name, *_ in CALLS} | {"get_oauth_access_token", "get_oauth_user"}
    public = {
        name
        for name in dir(TokenpassClient)
        if not name.startswith("_") and name not in {"close", "context", "base_url"}
    }
    assert public == documented | {"authorization_url"}


def test_the_async_client_sends_the_same_requests_and_reads_the_same_values() -> None:
    async def run(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], answer: Any) -> Any:
        recorder = Recorder(answer)
        transport = httpx2.MockTransport(recorder)
        async with AsyncTokenpassClient(BASE, "client-id", "cs", transport=transport) as tokenpass:
            value = await getattr(tokenpass, name)(*args, **kwargs)
        return value, recorder.requests[0]

    for name, args, kwargs, _, _, _, _, answer in CALLS:
        value, request = asyncio.run(run(name, args, kwargs, answer))
        recorder = Recorder(answer)
        with sync_client(recorder) as tokenpass:
            assert getattr(tokenpass, name)(*args, **kwargs) == value
        assert (request.method, request.url, request.content) == (
            recorder.requests[0].method,
            recorder.requests[0].url,
            recorder.requests[0].content,
        )


def answer_of(name: str, answer: Any, *args: Any, **kwargs: Any) -> Any:
    with sync_client(Recorder(answer)) as tokenpass:
        return getattr(tokenpass, name)(*args, **kwargs)


def test_values_read_from_the_answers() -> None:
    assert answer_of("get_public_addresses", {"result": [ADDRESS_JSON]}, "alice") == (
        ADDRESS_VALUE,
    )
    assert answer_of("get_promised_transaction", {"result": True, "tx": PROMISE_JSON}, 7) == (
        PROMISE_VALUE
    )
    assert answer_of(
        "lookup_users_by_addresses", {"result": {ADDRESS: LOOKUP_JSON}}, [ADDRESS]
    ) == {ADDRESS: LOOKUP_VALUE}
    sources = answer_of(
        "get_provisional_source_list",
        {
            "result": True,
            "proof_suffix": "_ab",
            "whitelist": [{"address": ADDRESS, "assets": ["A"]}],
        },
    )
    assert (sources.proof_suffix, sources.whitelist) == ("_ab", (SourceAddress(ADDRESS, ("A",)),))
    account = answer_of("get_app_credit_account", {"account": ACCOUNT_JSON}, "g-1", "u-1")
    assert account.tokenpass_user == LinkedUser("u-1", "alice", "alice")
    [transfer] = answer_of(
        "take_app_credit", {"transactions": [{"debit": TX_JSON, "credit": TX_JSON}]}, "g", "u", 1
    )
    assert isinstance(transfer, CreditTransfer)
    assert (transfer.debit.amount, transfer.debit.tokenpass_user) == (-40, None)
    for user in ("alice", {"uuid": "u-1", "slug": "alice", "username": "alice"}):
        history = answer_of(
            "get_app_credit_group_history",
            {
                "credit_group": GROUP_JSON,
                "transactions": [{**TX_JSON, "tokenpass_user": user}],
                "count": 1,
            },
            "g-1",
        )
        assert history.transactions[0].tokenpass_user == "alice"
    user = answer_of(
        "get_oauth_user",
        {"id": 12, "username": "alice", "email": None, "name": "Alice", "email_is_confirmed": True},
        "access",
    )
    assert user == OAuthUser("12", "alice", None, "Alice", email_is_confirmed=True)
    assert answer_of("check_token_access", {"result": False}, "a", "A=1", T) is False
    assert answer_of("get_asset_info", {"result": ASSET_JSON}, "bitcoin", "TOKENLY") == AssetInfo(
        "bitcoin", "TOKENLY", divisible=True, divisibility=8
    )
    nowhere = {"result": {**LOOKUP_JSON, "address": None}}
    assert answer_of("lookup_user_by_email", nowhere, "alice@example.com") == UserLookup(
        "alice", None, "alice@example.com"
    )
    assert answer_of("get_chats", {"0": CHAT_JSON}, T) == (CHAT_VALUE,)
    bare = {key: value for key, value in CHAT_JSON.items() if key not in {"joined", "created_at"}}
    assert answer_of("get_chat", {**bare, "id": 12}, T, "12") == Chat(
        "12", "VIP", True, False, (ChatRule("TOKENLY", 100000000),), None, None, WHEN
    )
    on_chain = {**PROMISE_JSON, "chain": "bitcoin", "protocol": "counterparty"}
    promise = answer_of("get_promised_transaction", {"result": True, "tx": on_chain}, 7)
    assert (promise.chain, promise.protocol) == ("bitcoin", "counterparty")
    assert (PROMISE_VALUE.chain, PROMISE_VALUE.protocol) == (None, None)
    listed = answer_of(
        "get_provisional_source_list",
        {
            "result": True,
            "proof_suffix": "_ab",
            "whitelist": [{"address": ADDRESS, "assets": None, "chain": "bitcoinTestnet"}],
        },
    )
    assert listed.whitelist == (SourceAddress(ADDRESS, None, "bitcoinTestnet", None),)


def test_balances_are_exact_from_balance_sat_in_either_list_shape() -> None:
    huge = "123456789012345678901234567890"
    rows = [
        {"asset": "SOUP", "name": "SOUP", "balance": 1.2345678901234568e21, "balanceSat": huge},
        {"asset": "LTBCOIN", "name": "LTBCoin", "balance": 0.1, "balanceSat": "10000000"},
        {"asset": "DEBT", "name": "DEBT", "balance": -1.0, "balanceSat": "-100000000"},
    ]
    as_list = answer_of("get_combined_protected_balances", rows, T)
    as_object = answer_of(
        "get_combined_protected_balances", {"1": rows[1], "0": rows[0], "2": rows[2]}, T
    )
    assert as_list == as_object
    assert as_list[0] == Balance("SOUP", "SOUP", int(huge))
    assert balances_by_asset(as_list) == {
        "SOUP": 123456789012345678901234567890,
        "LTBCOIN": 10000000,
        "DEBT": -100000000,
    }
    rule = compile_rule("LTBCOIN=0.1&DEBT=-1", dialect="tokenpass")
    assert rule.evaluate(balances_by_asset(as_list)) is True
    assert rule.evaluate(balances_by_asset(as_list[::2])) is False  # no LTBCOIN


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"result": True}, "the answer should be a list, not an object"),
        (
            [{"asset": "A", "name": "A", "balance": 1.0}],
            "[0].balanceSat should be an integer amount, not missing",
        ),
        (
            [{"asset": "A", "name": "A", "balanceSat": "1.5"}],
            "[0].balanceSat should be an integer amount, not a string",
        ),
        (
            [{"asset": "A", "name": "A", "balanceSat": 1.0}],
            "[0].balanceSat should be an integer amount, not the number 1",
        ),
        (
            [{"asset": "A", "name": "A", "balanceSat": "1" * 65}],
            "[0].balanceSat should be an integer amount, not a string",
        ),
        (
            [{"asset": "A", "name": "A", "balanceSat": "1"}] * 2,
            "[1].asset should be an asset not listed before, not a string",
        ),
        (
            {"0": {"asset": "A", "name": "A", "balanceSat": "1"}, "x": {}},
            "the answer should be a list, not an object",
        ),
        ([None], "[0] should be an object, not null"),
    ],
)
def test_unexpected_balance_shapes_name_the_field(answer: Any, message: str) -> None:
    with pytest.raises(MalformedResponseError) as raised:
        answer_of("get_combined_public_balances", answer, T)
    assert raised.value.message == message


@pytest.mark.parametrize(
    ("name", "args", "answer", "field"),
    [
        (
            "get_public_addresses",
            ("alice",),
            {"result": [{**ADDRESS_JSON, "public": "yes"}]},
            "result[0].public",
        ),
        (
            "get_public_addresses",
            ("alice",),
            {"result": [{**ADDRESS_JSON, "balances": {"A": 0.5}}]},
            "result[0].balances.A",
        ),
        ("get_promised_transaction", (7,), {"result": False, "tx": PROMISE_JSON}, "result"),
        (
            "get_promised_transaction",
            (7,),
            {"result": True, "tx": {**PROMISE_JSON, "created_at": "soon"}},
            "tx.created_at",
        ),
        (
            "get_app_credit_group_history",
            ("g",),
            {"credit_group": GROUP_JSON, "transactions": [{**TX_JSON, "amount": 1.5}], "count": 1},
            "transactions[0].amount",
        ),
        (
            "get_app_credit_account",
            ("g", "a"),
            {"account": {**ACCOUNT_JSON, "tokenpass_user": "u-1"}},
            "account.tokenpass_user",
        ),
        ("delete_address", (ADDRESS, T), {"result": False}, "result"),
    ],
)
def test_unexpected_shapes_name_the_field(
    name: str, args: tuple[Any, ...], answer: Any, field: str
) -> None:
    with pytest.raises(MalformedResponseError) as raised:
        answer_of(name, answer, *args)
    assert raised.value.field == field
    assert raised.value.message.startswith(field + " should be")


def test_a_rule_is_sent_in_its_canonical_stack_order() -> None:
    rule = compile_rule("(LTBCOIN >= 1000 and TOKENLY >= 1) or LTBSTAFF >= 1")
    recorder = Recorder({"result": True})
    with sync_client(recorder) as tokenpass:
        tokenpass.check_token_access("alice", rule, T)
        tokenpass.check_token_access("alice", "LTBCOIN >= 1000", T)
    sent = [parse_qsl(r.url.query.decode(), keep_blank_values=True) for r in recorder.requests]
    assert sent[0] == rule.to_pairs()
    assert sent[1] == [("LTBCOIN", "1000")]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.check_token_access("a", {"oauth_token": "x"}, T), "credential"),
        (lambda c: c.check_token_access("a", "", T), "the rule is empty"),
        (lambda c: c.check_token_access("a", {"A": 1.5}, T), "must be a str or int"),
        (lambda c: c.check_token_access("", "A=1", T), "username must not be empty"),
        (lambda c: c.check_token_access("a", "A=1", ""), "oauth_token must be"),
        (lambda c: c.check_token_access("a", "A=1", b"tok"), "oauth_token must be .* not bytes"),
        (lambda c: c.promise_transaction("s", "d", "A", 1.5), "quantity must be an int"),
        (lambda c: c.promise_transaction("s", "d", "A", 0), "above zero"),
        (lambda c: c.promise_transaction("s", "d", "A", 1, note=5), "note must be a non-empty"),
        (lambda c: c.give_multiple_app_credit("g", []), "at least one account"),
        (
            lambda c: c.give_multiple_app_credit("g", [{"account": "u", "amount": 1, "x": 1}]),
            "unknown keys: x",
        ),
        (
            lambda c: c.give_multiple_app_credit("g", [{"account": "u", "amount": 1, "ref": 3}]),
            r"accounts\[0\].ref must be a non-empty string",
        ),
        (lambda c: c.take_app_credit("g", "u", 1, destination=""), "destination must be"),
        (lambda c: c.lookup_users_by_addresses(ADDRESS), "not one string"),
        (lambda c: c.update_address_details(ADDRESS, T), "needs at least one of: label"),
        (lambda c: c.update_address_details(ADDRESS, T, public=None), "public must be True"),
        (lambda c: c.update_address_details(ADDRESS, T, label=3), "label must be"),
        (lambda c: c.register_address(ADDRESS, T, public="yes"), "public must be True"),
        (lambda c: c.update_promised_transaction(7), "needs at least one of: quantity"),
        (lambda c: c.update_promised_transaction(7, quantity=None), "quantity must be an int"),
        (lambda c: c.update_app_credit_group("g"), "needs at least one of: name"),
        (lambda c: c.get_promised_transaction(True), "promise_id must be a str"),
        (lambda c: c.delete_address("..", T), "address must not be '..'"),
        (lambda c: c.delete_address(".", T), "address must not be '.'"),
        (lambda c: c.delete_provisional_source(".."), "address must not be '..'"),
        (lambda c: c.get_app_credit_account("g", ".."), "account must not be '..'"),
        (lambda c: c.delete_address(" ", T), "address must not be empty"),
        (lambda c: c.new_app_credit_group("P", ["id", ""]), r"app_whitelist\[1\] must be"),
        (lambda c: c.new_app_credit_group("P", []), "app_whitelist must not be an empty list"),
        (lambda c: c.new_app_credit_group("P", ""), "app_whitelist must be a non-empty"),
        (lambda c: c.new_app_credit_group("P", 5), "app_whitelist must be a list"),
        (lambda c: c.update_app_credit_group("g", app_whitelist=[None]), "app_whitelist"),
        (lambda c: c.register_provisional_source(ADDRESS, "p", ["A", 1]), r"assets\[1\] must"),
        (lambda c: c.register_provisional_source(ADDRESS, "p", []), "assets must not be an empty"),
        (lambda c: c.register_provisional_source(ADDRESS, "p", " "), "assets must be"),
        (lambda c: c.register_provisional_source(ADDRESS, "p", chain=""), "chain must be"),
        (lambda c: c.promise_transaction("s", "d", "A", 1, protocol=None), "protocol must be"),
        (lambda c: c.check_token_access_by_email("", "A=1"), "email must not be empty"),
        (lambda c: c.check_token_access_by_email("a@b", {"oauth_token": T}), "credential"),
        (lambda c: c.get_asset_info("bitcoin", ".."), "asset must not be '..'"),
        (lambda c: c.lookup_user_by_email(" "), "email must not be empty"),
        (lambda c: c.create_chat(T, "C", ChatRule("A", 1)), "tca_rules must be a list of ChatRule"),
        (lambda c: c.create_chat(T, "C", [{"token": "A"}]), r"tca_rules\[0\] must be a ChatRule"),
        (lambda c: c.create_chat(T, "C", [ChatRule("A", 1.5)]), r"tca_rules\[0\].quantity"),
        (lambda c: c.create_chat(T, "C", [ChatRule("A", -1)]), "must not be negative"),
        (lambda c: c.create_chat(T, "C", [ChatRule("", 1)]), r"tca_rules\[0\].token must be"),
        (lambda c: c.create_chat(T, "", []), "name must be"),
        (lambda c: c.create_chat(T, "C", [], global_=1), "global_ must be True or False"),
        (lambda c: c.edit_chat(T, "c-1"), "needs at least one of: name, active, global"),
        (lambda c: c.join_chat(T, ".."), "chat_id must not be '..'"),
        (lambda c: c.logout("a token"), "oauth_token must be visible ASCII"),
        (lambda c: c.get_oauth_user("\x00"), "access_token must be visible ASCII"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_sent(call: Any, message: str) -> None:
    recorder = Recorder({"result": True})
    with sync_client(recorder) as tokenpass, pytest.raises(InvalidArgumentError) as raised:
        call(tokenpass)
    assert isinstance(raised.value, ValueError)
    assert raised.match(message)
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "body"),
    [
        ("update_address_details", (ADDRESS, T), {"label": None}, {"label": None}),
        (
            "update_address_details",
            (ADDRESS, T),
            {"label": "x", "active": False},
            {"label": "x", "active": False},
        ),
        ("update_promised_transaction", (7,), {"expiration": None}, {"expiration": None}),
        (
            "update_promised_transaction",
            (7,),
            {"note": None, "ref": "r", "txid": UNCHANGED},
            {"ref": "r", "note": None},
        ),
        ("update_app_credit_group", ("g",), {"app_whitelist": "a\nb"}, {"app_whitelist": "a\nb"}),
    ],
)
def test_updates_send_only_what_changes_and_none_clears_a_nullable_field(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], body: dict[str, Any]
) -> None:
    answer = {"result": True, "tx": PROMISE_JSON, "credit_group": GROUP_JSON}
    recorder = Recorder({**answer, "result": ADDRESS_JSON} if "address" in name else answer)
    with sync_client(recorder) as tokenpass:
        getattr(tokenpass, name)(*args, **kwargs)
    assert json.loads(recorder.requests[0].content) == body


def test_php_empty_arrays_are_read_as_empty_maps() -> None:
    empty = answer_of("get_public_addresses", {"result": [{**ADDRESS_JSON, "balances": []}]}, "a")
    assert dict(empty[0].balances) == {}
    assert answer_of("lookup_users_by_addresses", {"result": []}, [ADDRESS]) == {}
    with pytest.raises(MalformedResponseError, match=r"result\[0\].balances should be an object"):
        answer_of("get_public_addresses", {"result": [{**ADDRESS_JSON, "balances": [1]}]}, "a")


def test_every_call_says_who_is_calling() -> None:
    recorder = Recorder({"token": "A", "chatCount": 1})
    with sync_client(recorder) as tokenpass:
        tokenpass.get_token_perks("A")
    assert recorder.requests[0].headers["user-agent"] == f"tca-gate/{__version__}"


def test_a_closed_client_says_so_and_sends_nothing() -> None:
    recorder = Recorder({"result": True})
    with sync_client(recorder) as tokenpass:
        pass
    with pytest.raises(ClientClosedError) as raised:
        tokenpass.delete_address(ADDRESS, T)
    assert isinstance(raised.value, RuntimeError)
    assert str(raised.value) == (
        f"Tokenpass was not called for DELETE /api/v1/tca/address/{ADDRESS}: "
        "the client is closed; open a new one"
    )

    async def run() -> ClientClosedError:
        async with AsyncTokenpassClient(
            BASE, "i", "s", transport=httpx2.MockTransport(recorder)
        ) as asynchronous:
            pass
        with pytest.raises(ClientClosedError) as raised:
            await asynchronous.get_token_perks("A")
        return raised.value

    assert asyncio.run(run()).method == "GET"
    assert recorder.requests == []


def test_async_methods_are_typed_as_coroutines_so_tasks_can_be_made_of_them() -> None:
    async_overload = typing.get_overloads(Endpoint.__get__)[-1]
    returned = typing.get_type_hints(async_overload)["return"]
    assert typing.get_origin(typing.get_args(returned)[-1]) is Coroutine

    async def run() -> bool:
        recorder = Recorder({"result": False})
        transport = httpx2.MockTransport(recorder)
        async with AsyncTokenpassClient(BASE, "i", "s", transport=transport) as tokenpass:
            task = asyncio.create_task(tokenpass.check_address_token_access(ADDRESS, "A=1"))
            return await task

    assert asyncio.run(run()) is False


def test_path_segments_are_encoded() -> None:
    recorder = Recorder({"result": True})
    with sync_client(recorder) as tokenpass:
        tokenpass.check_token_access("a/b?c", "A=1", T)
    assert recorder.requests[0].url.raw_path.startswith(b"/api/v1/tca/check/a%2Fb%3Fc?")


def test_oauth_code_exchange_posts_the_form_with_the_client_secret() -> None:
    recorder = Recorder(
        {"access_token": "s3cr3t", "token_type": "Bearer", "expires_in": 3600, "scope": "user,tca"}
    )
    with sync_client(recorder) as tokenpass:
        token = tokenpass.get_oauth_access_token("the-code", "https://app.example/cb")
    [request] = recorder.requests
    assert (request.method, request.url.path) == ("POST", "/oauth/access-token")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.content.decode())) == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "https://app.example/cb",
        "client_id": "client-id",
        "client_secret": "client-secret",
    }
    assert SIGNATURE_HEADER.lower() not in request.headers
    assert token == OAuthToken("s3cr3t", "Bearer", 3600, "user,tca")
    assert token.scopes == ("user", "tca")
    assert "s3cr3t" not in repr(token)


def test_oauth_user_sends_the_access_token_unsigned() -> None:
    recorder = Recorder(
        {"id": "u", "username": "a", "email": "a@x", "name": None, "email_is_confirmed": False}
    )
    with sync_client(recorder) as tokenpass:
        tokenpass.get_oauth_user("the-token")
    with sync_client(recorder, bearer=False) as tokenpass:
        tokenpass.get_oauth_user("the-token")
    bearer, parameter = recorder.requests
    assert (bearer.url, bearer.headers["authorization"]) == (
        f"{BASE}/oauth/user",
        "Bearer the-token",
    )
    assert (parameter.url.path, parameter.url.params["access_token"]) == (
        "/oauth/user",
        "the-token",
    )
    assert "authorization" not in parameter.headers
    for request in (bearer, parameter):
        assert SIGNATURE_HEADER.lower() not in request.headers


def test_the_authorization_url_joins_scopes_with_commas_under_the_base_path() -> None:
    with TokenpassClient("https://x.example/tp/", "client-id", "secret") as tokenpass:
        url = httpx2.URL(tokenpass.authorization_url("https://app/cb", ["user", "tca"], "s1"))
        with pytest.raises(ValueError, match="state"):
            tokenpass.authorization_url("https://app/cb", ["user"], "")
        with pytest.raises(ValueError, match="at least one scope"):
            tokenpass.authorization_url("https://app/cb", [], "s1")
    assert (url.host, url.path) == ("x.example", "/tp/oauth/authorize")
    assert dict(url.params) == {
        "client_id": "client-id",
        "redirect_uri": "https://app/cb",
        "scope": "user,tca",
        "response_type": "code",
        "state": "s1",
    }


def test_a_base_url_with_a_path_prefixes_every_call() -> None:
    recorder = Recorder({"result": True})
    with TokenpassClient(
        "http://127.0.0.1:9/tokenpass", "id", "s", transport=httpx2.MockTransport(recorder)
    ) as tokenpass:
        tokenpass.check_address_token_access(ADDRESS, "A=1")
    assert recorder.requests[0].url.path == f"/tokenpass/api/v1/tca/check-address/{ADDRESS}"


@pytest.mark.parametrize(
    ("base_url", "client_id", "secret", "options", "message"),
    [
        ("ftp://x", "id", "s", {}, "base_url must be the http"),
        ("tokenpass.example", "id", "s", {}, "base_url must be the http"),
        ("http://[::", "id", "s", {}, "base_url must be the http"),
        ("https://x", "", "s", {}, "client_id must be"),
        ("https://x", "id", " ", {}, "client_secret must be"),
        ("https://x", "id", "s", {"timeout": -1}, "timeout must be seconds"),
        ("https://x", "id", "s", {"timeout": "5"}, "timeout must be seconds"),
        ("https://x", "id", "s", {"retries": -1}, "retries must not be negative"),
    ],
)
def test_bad_configuration_is_refused(
    base_url: str, client_id: str, secret: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        TokenpassClient(base_url, client_id, secret, **options)


SECRETS = (T, PASSWORD, "client-secret", "the-code")


@pytest.mark.parametrize("bearer", [True, False], ids=["bearer", "parameter"])
def test_no_secret_or_token_is_in_reprs_of_clients_calls_or_errors(bearer: bool) -> None:
    with sync_client(Recorder({}), bearer=bearer) as tokenpass:
        assert "client-secret" not in repr(tokenpass.context)
        assert "client-secret" not in repr(vars(tokenpass))
        calls = [(getattr(TokenpassClient, name), args, kwargs) for name, args, kwargs, *_ in CALLS]
        calls.append((TokenpassClient.get_oauth_access_token, ("the-code", "https://a/cb"), {}))
        for endpoint, args, kwargs in calls:
            call = endpoint.build(tokenpass.context, *args, **kwargs)
            assert not [secret for secret in SECRETS if secret in repr(call)], endpoint
    failing = [
        httpx2.Response(500, json={"error": "broken"}),
        httpx2.Response(200, json={"unexpected": True}),
    ]
    for answer in failing:
        with TokenpassClient(
            BASE,
            "client-id",
            "client-secret",
            retries=0,
            transport=httpx2.MockTransport(lambda _, answer=answer: answer),
            bearer=bearer,
        ) as tokenpass:
            for endpoint, args, kwargs in calls:
                with pytest.raises(ServiceError) as raised:
                    getattr(tokenpass, endpoint.__name__)(*args, **kwargs)
                shown = str(raised.value) + repr(raised.value) + repr(vars(raised.value))
                assert not [secret for secret in SECRETS if secret in shown], endpoint


BLOCK_HTTPX = """
import sys
sys.modules["httpx2"] = None
import tca_gate
assert tca_gate.compile_rule("LTBCOIN=1").evaluate({"LTBCOIN": 100000000})
try:
    import tca_gate.tokenpass
except ImportError as error:
    print(error)
else:
    raise SystemExit("imported without httpx2")
"""


def test_import_tca_gate_works_without_httpx_and_the_client_names_the_extra() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_HTTPX], capture_output=True, text=True, check=True
    )
    assert "pip install 'tca-gate[tokenpass]'" in result.stdout
    assert "httpx2 is missing" in result.stdout
