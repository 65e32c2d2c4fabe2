"""A failing metrics or tracing backend never changes what the gate answers: with an
observer whose every hook raises, or an OpenTelemetry span processor that raises, each
request over loopback (gated, signed, webhook) gets the answer it gets with metrics off,
and each kind of failure is logged once, by its type only."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from types import TracebackType

import httpx2
import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace import Span as SdkSpan
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tca_gate import TokenlyAuthMiddleware, sign_tokenly_request
from tca_gate.balances import BalanceWebhook, CachedBalances, Holder, StaticBalances
from tca_gate.errors import BalanceUnavailableError, UnknownHolderError
from tca_gate.gate import Gate, Outcome, TcaGateMiddleware, requires_tokens
from tca_gate.metrics import Metrics
from tca_gate.observe import Attribute, Observer, fetch, install, revoked
from tests.support.servers import serve

TOKEN, SECRET = "failing-backend-token", "failing-backend-secret"
#: What each broken backend puts in its errors' messages: it must never reach a log.
LEAK = f"backend down, token {TOKEN}, user alice"
SAT = 100_000_000
JSON = {"accept": "application/json"}


class Tokens:
    """A balance source reporting through the fetch hook: alice holds TOKENLY, bob holds
    nothing, mallory is unknown, and carol's question finds the service down."""

    @fetch("test")
    async def balances(self, holder: Holder) -> Mapping[str, int]:
        if holder.value == "alice":
            return {"TOKENLY": 2 * SAT}
        if holder.value == "bob":
            return {}
        if holder.value == "carol":
            raise BalanceUnavailableError("the service is down")
        raise UnknownHolderError(f"no such user {holder.value}")


class BrokenSpan:
    """A span whose attributes and end both raise."""

    def set_attribute(self, key: str, value: Attribute, /) -> None:
        raise RuntimeError(LEAK)

    def __enter__(self) -> BrokenSpan:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        raise RuntimeError(LEAK)


class Broken(Observer):
    """An observer whose every hook raises (a metrics backend that is down)."""

    def decision(self, outcome: Enum, rule: str) -> None:
        raise RuntimeError(LEAK)

    def span(self, name: str, attributes: Mapping[str, Attribute]) -> BrokenSpan:
        return BrokenSpan()

    def fetched(self, source: str, outcome: str, seconds: float) -> None:
        raise RuntimeError(LEAK)

    def webhook(self, webhook: str, event: str, outcome: str) -> None:
        raise RuntimeError(LEAK)

    def refused(self, reason: str) -> None:
        raise RuntimeError(LEAK)

    def revoked(self, outcome: Enum, rule: str, kind: str) -> None:
        raise RuntimeError(LEAK)


class Raising(SpanProcessor):
    """An OpenTelemetry span processor (an exporter that is down) raising as a span
    starts, or as it ends."""

    def __init__(self, *, on: str) -> None:
        self.on = on

    def on_start(self, span: SdkSpan, parent_context: Context | None = None) -> None:
        if self.on == "start":
            raise RuntimeError(LEAK)

    def on_end(self, span: ReadableSpan) -> None:
        if self.on == "end":
            raise RuntimeError(LEAK)


class UnreachableCache(CachedBalances):
    """A cache that cannot forget, as a Redis that is down."""

    async def forget(self, *, usernames: Iterable[str] = (), addresses: Iterable[str] = ()) -> int:
        raise ConnectionError("the cache is down")


def by_header(conn: HTTPConnection) -> Holder:
    return Holder.user(conn.headers["x-user"])


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


def gated_app() -> Starlette:
    """``/members`` gated by the middleware, ``/page`` by the decorator (``Gate.check``),
    and two balance webhooks, one on a cache that is down."""
    gate = Gate(CachedBalances(Tokens()), identity=by_header)
    page = requires_tokens("TOKENLY >= 1", gate=gate, name="page")(hello)
    hooks = BalanceWebhook(CachedBalances(StaticBalances({})), api_token=TOKEN, api_secret=SECRET)
    down = BalanceWebhook(UnreachableCache(StaticBalances({})), api_token=TOKEN, api_secret=SECRET)
    return Starlette(
        routes=[
            Route("/members", hello),
            Route("/page", page),
            Route("/hooks", hooks),
            Route("/down", down),
        ],
        middleware=[Middleware(TcaGateMiddleware, gate=gate, rules={"/members": "TOKENLY >= 1"})],
    )


def answer(response: httpx2.Response) -> tuple[int, str]:
    """The status and the refusal's code (``""`` when the body is not a JSON refusal)."""
    try:
        code = response.json().get("error", "")
    except ValueError:
        code = ""
    return response.status_code, code


def post(url: str, body: str, *, secret: str = SECRET) -> tuple[int, str]:
    headers = sign_tokenly_request("POST", url, json.loads(body), TOKEN, secret)
    headers["content-type"] = "application/json"
    return answer(httpx2.post(url, content=body, headers=headers))


def answers() -> dict[str, tuple[int, str]]:
    """Every request's answer, each gated one asked twice (the second decided at once
    from the cache when it holds an answer)."""
    seen: dict[str, tuple[int, str]] = {}
    with serve(gated_app()) as url:
        for path in ("/members", "/page"):
            for user in ("alice", "bob", "mallory", "carol"):
                first, second = (
                    answer(httpx2.get(url + path, headers={**JSON, "x-user": user}))
                    for _ in range(2)
                )
                assert first == second
                seen[f"{path} {user}"] = first
        event = json.dumps({"event": "delivery.complete", "usernames": ["bob"]})
        seen["webhook accepted"] = post(url + "/hooks", event)
        seen["webhook forged"] = post(url + "/hooks", event, secret="wrong")
        seen["webhook malformed"] = post(url + "/hooks", json.dumps({"event": "balances.x"}))
        seen["webhook cache down"] = post(url + "/down", event)
    signed_app = TokenlyAuthMiddleware(
        Starlette(routes=[Route("/api", hello)]), secret_for={TOKEN: SECRET}
    )
    with serve(signed_app) as url:
        signed = sign_tokenly_request("GET", url + "/api", None, TOKEN, SECRET)
        forged = {**signed, "X-Tokenly-Auth-Signature": "forged"}
        seen["signed"] = answer(httpx2.get(url + "/api", headers=signed))
        seen["signed forged"] = answer(httpx2.get(url + "/api", headers=forged))
    return seen


#: What each request gets with metrics off (``test_...`` checks this too).
EXPECTED = {
    "/members alice": (200, ""),
    "/members bob": (403, "insufficient-tokens"),
    "/members mallory": (403, "unknown-holder"),
    "/members carol": (503, "balances-unavailable"),
    "/page alice": (200, ""),
    "/page bob": (403, "insufficient-tokens"),
    "/page mallory": (403, "unknown-holder"),
    "/page carol": (503, "balances-unavailable"),
    "webhook accepted": (200, ""),
    "webhook forged": (401, "bad-signature"),
    "webhook malformed": (400, "malformed-body"),
    "webhook cache down": (503, "cache-unavailable"),
    "signed": (200, ""),
    "signed forged": (401, "bad-signature"),
}


@pytest.fixture(params=["off", "observer", "span-start", "span-end"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Metrics off, a broken observer, or ``Metrics`` over a span processor that raises."""
    if request.param == "off":
        yield request.param
    elif request.param == "observer":
        install(Broken())
        try:
            yield request.param
        finally:
            install(None)
    else:
        provider = TracerProvider()
        provider.add_span_processor(Raising(on=request.param.removeprefix("span-")))
        with Metrics(CollectorRegistry(), tracer_provider=provider):
            yield request.param


#: The hooks each backend breaks, as the warnings name them.
BROKEN = {
    "off": set(),
    "observer": {"decision", "fetched", "span", "webhook", "refused"},
    "span-start": {"span"},
    "span-end": {"span"},
}


def test_a_failing_backend_changes_no_answer_and_is_logged_once_without_data(
    backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="tca_gate.metrics"):
        assert answers() == EXPECTED
    warned = [record for record in caplog.records if record.name == "tca_gate.metrics"]
    kinds = [str(record.args[0]) for record in warned if isinstance(record.args, tuple)]
    assert sorted(kinds) == sorted(BROKEN[backend])  # once each
    for record in warned:
        assert record.exc_info is None
        message = record.getMessage()
        assert message.endswith(
            "hook raised RuntimeError: ignored, the gate answers as without it (logged once)"
        )
        for secret in (TOKEN, SECRET, "alice", "backend down"):
            assert secret not in message


def test_a_revocation_reported_to_a_broken_observer_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    previous = install(Broken())
    try:
        with caplog.at_level("WARNING", logger="tca_gate.metrics"):
            for _ in range(3):
                revoked(Outcome.INSUFFICIENT_TOKENS, "members", "websocket")
    finally:
        install(previous)
    assert [record.getMessage() for record in caplog.records] == [
        "the observer's revoked hook raised RuntimeError: ignored, the gate answers as "
        "without it (logged once)"
    ]
