"""The Tokensoft clients over loopback against the emulator under uvicorn, every request
checked by ``TokensoftAuthMiddleware``: signed calls, exact decimals, GraphQL errors with
their paths, the server's time (and its cache), retries signed afresh."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tca_gate import AuthenticationError, InvalidArgumentError, ServerError
from tca_gate.service import RetryPolicy
from tca_gate.signing.tokensoft._scheme import is_time_query
from tca_gate.tokensoft import (
    AsyncTokensoftClient,
    CurrentUser,
    TokensoftAuthMiddleware,
    TokensoftClient,
    TokensoftGraphQLError,
    server_time_ms,
)
from tca_gate.tokensoft.examples import ASSET_PRICES, WHITELIST_INVESTOR
from tca_gate.tokensoft.testing import emulator_app
from tests.support.servers import serve

KEY, SECRET = "TS-demo-key", "TS-demo-secret"
OTHER_KEY, OTHER_SECRET = "TS-other-key", "TS-other-secret"
PRICE_VARIABLES = {"symbol": "ARCA", "from": "2024-01-01", "to": "2024-01-02"}
FAST_RETRIES = RetryPolicy(retries=2, wait_initial=0, wait_max=0, wait_jitter=0)


class Recorder:
    """ASGI wrapper that records each request's body and Tokensoft headers, then replays it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[tuple[bytes, dict[str, str]]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.seen.append((body, {k: v for k, v in headers.items() if k.startswith("access-")}))
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def time_queries(self) -> int:
        return sum(is_time_query(body) for body, _ in self.seen)


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    # The server's clock runs a day ahead of this machine's: the clients never notice.
    def skewed() -> int:
        return server_time_ms() + 86_400_000

    return Recorder(emulator_app({KEY: SECRET, OTHER_KEY: OTHER_SECRET}, clock=skewed))


@pytest.fixture(scope="module")
def url(recorder: Recorder) -> Iterator[str]:
    with serve(recorder) as base:
        yield f"{base}/graphql"


def run_sync(url: str, calls: Any, **options: Any) -> Any:
    with TokensoftClient(
        url, options.pop("key", KEY), options.pop("secret", SECRET), **options
    ) as ts:
        return calls(ts)


def run_async(url: str, calls: Any, **options: Any) -> Any:
    async def main() -> Any:
        key, secret = options.pop("key", KEY), options.pop("secret", SECRET)
        async with AsyncTokensoftClient(url, key, secret, **options) as ts:
            return await calls(ts)

    return asyncio.run(main())


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, url: str) -> Any:
    """Run ``method(client)`` on a fresh sync or async client; the same checks hold for both."""

    def run(method: Any, **options: Any) -> Any:
        if request.param == "sync":
            return run_sync(url, method, **options)

        async def awaited(ts: Any) -> Any:
            return await method(ts)

        return run_async(url, awaited, **options)

    return run


def test_current_user_is_the_key_s_user(call: Any) -> None:
    user = call(lambda ts: ts.current_user())
    assert user == CurrentUser(id=f"user-{KEY}", email=f"{KEY}@example.com")


def test_another_key_acts_as_its_own_user(call: Any) -> None:
    user = call(lambda ts: ts.current_user(), key=OTHER_KEY, secret=OTHER_SECRET)
    assert user.id == f"user-{OTHER_KEY}"


def test_whitelisting_an_investor_returns_its_reference(call: Any) -> None:
    variables = {"accountId": "acct-7", "tokenContractId": "arca-1404"}
    data = call(lambda ts: ts.query(WHITELIST_INVESTOR, variables))
    expected = hashlib.sha256(b"arca-1404:acct-7").hexdigest()
    assert data == {"whitelistUser": f"0x{expected}"}


def test_prices_are_exact_decimals(call: Any) -> None:
    data = call(lambda ts: ts.query(ASSET_PRICES, PRICE_VARIABLES))
    current = data["currentPrice"]
    assert current["symbol"] == "ARCA"
    assert type(current["price"]) is Decimal
    assert str(current["price"]) == "1.0500000000000000444"
    history = data["priceHistory"]
    assert [(str(item["price"]), item["time"]) for item in history] == [
        ("1.01", "2024-01-01"),
        ("1.0250", "2024-01-02"),
    ]


def test_graphql_errors_raise_with_their_path_and_partial_data(call: Any) -> None:
    variables = {"accountId": "acct-7", "tokenContractId": "no-such-contract"}
    with pytest.raises(TokensoftGraphQLError) as caught:
        call(lambda ts: ts.query(WHITELIST_INVESTOR, variables))
    error = caught.value
    assert [(p.message, p.path, p.code) for p in error.problems] == [
        ("token contract 'no-such-contract' not found", ("whitelistUser",), "NOT_FOUND")
    ]
    assert error.data == {"whitelistUser": None}
    assert error.field == "whitelistUser"
    assert error.status == 200
    assert "(at whitelistUser)" in str(error)
    assert str(error).startswith("Tokensoft answered with errors to POST /graphql:")


def test_several_errors_are_all_kept(call: Any) -> None:
    with pytest.raises(TokensoftGraphQLError) as caught:
        call(lambda ts: ts.query(ASSET_PRICES, {**PRICE_VARIABLES, "symbol": "NOPE"}))
    paths = [problem.path for problem in caught.value.problems]
    assert paths == [("currentPrice",), ("priceHistory",)]
    assert caught.value.message == "no prices for 'NOPE' (and 1 more)"


def test_a_request_wide_error_has_no_path(call: Any) -> None:
    with pytest.raises(TokensoftGraphQLError) as caught:
        call(lambda ts: ts.query("{ somethingElse }"))
    (problem,) = caught.value.problems
    assert problem.path is None
    assert caught.value.data is None


def test_a_wrong_secret_is_refused_as_a_bad_signature(call: Any) -> None:
    with pytest.raises(AuthenticationError) as caught:
        call(lambda ts: ts.current_user(), secret="not-the-secret")
    assert caught.value.status == 401
    assert caught.value.code == "bad-signature"


def test_an_unknown_key_is_refused(call: Any) -> None:
    with pytest.raises(AuthenticationError) as caught:
        call(lambda ts: ts.current_user(), key="TS-unknown")
    assert caught.value.code == "unknown-key"


def test_a_float_variable_is_refused_before_anything_is_sent(call: Any, recorder: Recorder) -> None:
    before = len(recorder.seen)
    with pytest.raises(InvalidArgumentError, match=r"variables\.amount is a float"):
        call(lambda ts: ts.query(WHITELIST_INVESTOR, {"amount": 1.5}))
    assert len(recorder.seen) == before


def test_decimal_variables_are_sent_as_their_exact_text(call: Any, recorder: Recorder) -> None:
    variables = {**PRICE_VARIABLES, "limit": Decimal("0.10")}
    call(lambda ts: ts.query(ASSET_PRICES, variables))
    body, headers = recorder.seen[-1]
    assert json.loads(body)["variables"]["limit"] == "0.10"
    assert headers["access-key"] == KEY


def test_the_server_time_is_kept_between_calls(call: Any, recorder: Recorder) -> None:
    async def three_async(ts: Any) -> None:
        for _ in range(3):
            await ts.current_user()

    before = recorder.time_queries()
    call(
        lambda ts: (
            [ts.current_user() for _ in range(3)]
            if isinstance(ts, TokensoftClient)
            else three_async(ts)
        )
    )
    assert recorder.time_queries() - before == 1


def test_time_cache_zero_asks_before_every_call(url: str, recorder: Recorder) -> None:
    before = recorder.time_queries()
    run_sync(url, lambda ts: [ts.current_user() for _ in range(3)], time_cache=0)
    assert recorder.time_queries() - before == 3


def test_a_refused_call_forgets_the_kept_time(url: str, recorder: Recorder) -> None:
    def twice(ts: TokensoftClient) -> None:
        for _ in range(2):
            with pytest.raises(AuthenticationError):
                ts.current_user()

    before = recorder.time_queries()
    run_sync(url, twice, secret="not-the-secret")
    assert recorder.time_queries() - before == 2


class Flaky:
    """A server failing each document's first signed attempt with 503; records every attempt."""

    def __init__(self) -> None:
        self.clock = itertools.count(server_time_ms())
        self.attempts: list[tuple[str, str]] = []

    async def graphql(self, request: Request) -> Response:
        body = await request.body()
        if is_time_query(body):
            return JSONResponse({"data": {"time": next(self.clock)}})
        self.attempts.append((request.headers["access-timestamp"], request.headers["access-sign"]))
        if len(self.attempts) == 1:
            return JSONResponse({"message": "try again"}, status_code=503)
        return JSONResponse({"data": {"currentUser": {"id": "u1", "email": "u1@example.com"}}})

    def app(self) -> Starlette:
        auth = Middleware(
            TokensoftAuthMiddleware, secret_for={KEY: SECRET}, clock=lambda: next(self.clock)
        )
        return Starlette(
            routes=[Route("/graphql", self.graphql, methods=["POST"])], middleware=[auth]
        )


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_retried_query_is_signed_afresh(mode: str) -> None:
    flaky = Flaky()
    with serve(flaky.app()) as base:
        runner = run_sync if mode == "sync" else run_async
        user = runner(
            f"{base}/graphql", lambda ts: ts.current_user(), retries=FAST_RETRIES, time_cache=0
        )
    assert user == CurrentUser("u1", "u1@example.com")
    (first_stamp, first_sign), (second_stamp, second_sign) = flaky.attempts
    assert first_stamp != second_stamp
    assert first_sign != second_sign


def test_a_mutation_is_never_retried() -> None:
    flaky = Flaky()
    with serve(flaky.app()) as base, pytest.raises(ServerError) as caught:
        run_sync(
            f"{base}/graphql",
            lambda ts: ts.query("mutation { currentUser { id email } }"),
            retries=FAST_RETRIES,
        )
    assert caught.value.status == 503
    assert len(flaky.attempts) == 1
