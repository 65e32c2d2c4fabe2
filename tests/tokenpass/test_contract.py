"""The Tokenpass client's contract: each call's request as docs/tokenpass-api.md says, the
async client's the same, and no secret or token in a repr of a client, a call or an error."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any
from urllib.parse import parse_qsl

import httpx2
import pytest

from tca_gate.errors import ServiceError
from tca_gate.signing.tokenly._scheme import API_TOKEN_HEADER, SIGNATURE_HEADER
from tca_gate.tokenpass import (
    AsyncTokenpassClient,
    ChatRule,
    TokenpassClient,
)
from tests.support.tokenpass_samples import (
    ACCOUNT_JSON,
    ADDRESS,
    ADDRESS_JSON,
    ASSET_JSON,
    BASE,
    CHAT_JSON,
    GROUP_JSON,
    LOOKUP_JSON,
    PASSWORD,
    PROMISE_JSON,
    TX_JSON,
    Recorder,
    T,
    sync_client,
)

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
