"""``Metrics`` over loopback: a gated app on Tokenpass (the sandbox) with a balance webhook,
a session of known secrets, then ``/metrics`` scraped and the spans read: exact counts,
spans for fetches and decisions, and no token, username, address or signature anywhere."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tca_gate import InvalidArgumentError, sign_tokenly_request
from tca_gate.balances import (
    BalanceWebhook,
    CachedBalances,
    Holder,
    StaticBalances,
    TokenpassBalances,
)
from tca_gate.gate import Gate, TcaGateMiddleware
from tca_gate.metrics import Metrics
from tca_gate.observe import hooks
from tca_gate.tokenpass import AsyncTokenpassClient
from tests.support.sandboxes import Sandbox, running_sandbox
from tests.support.servers import serve

JSON = {"accept": "application/json"}
RULES: dict[str, str | dict[str, str]] = {
    "/members": "TOKENLY >= 1 or LTBCOIN >= 10000",
    "/vip": {"rule": "TOKENLY >= 5", "name": "vip"},
}
#: A token Tokenpass never issued.
FORGED_TOKEN = "forged-token-0123456789abcdef"


async def hello(_: Request) -> Response:
    return PlainTextResponse("hello")


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


class Session:
    """The app under test, served over loopback, and what the test knows of its secrets."""

    def __init__(self, sandbox: Sandbox, url: str, tokens: dict[str, str]) -> None:
        self.sandbox = sandbox
        self.url = url
        self.tokens = tokens
        self.http = httpx2.Client(base_url=url, headers=JSON)

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, token: str | None = None) -> int:
        headers = {} if token is None else {"x-token": token}
        return self.http.get(path, headers=headers).status_code

    def webhook(self, payload: dict[str, Any], secret: str) -> tuple[int, dict[str, str]]:
        url = self.url + "/hooks/balances"
        headers = sign_tokenly_request("POST", url, payload, self.sandbox.client_id, secret)
        headers["content-type"] = "application/json"
        body = json.dumps(payload, separators=(",", ":"))
        return self.http.post(url, content=body, headers=headers).status_code, headers


@pytest.fixture
def traced() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


@pytest.fixture
def metrics(traced: InMemorySpanExporter) -> Iterator[Metrics]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(traced))
    with Metrics(CollectorRegistry(), tracer_provider=provider) as installed:
        yield installed
    provider.shutdown()


def gated_app(sandbox: Sandbox, metrics: Metrics, owners: dict[str, str]) -> Starlette:
    """The app: /members and /vip gated on cached Tokenpass balances by the OAuth token in
    ``x-token`` (its owner known), the balance webhook, and /metrics."""
    client = AsyncTokenpassClient(sandbox.url, sandbox.client_id, sandbox.client_secret)
    cache = CachedBalances(TokenpassBalances(client), ttl=300)
    metrics.watch(cache, name="tokenpass")

    def identity(conn: HTTPConnection) -> Holder | None:
        token = conn.headers.get("x-token")
        return None if token is None else Holder.token(token, owner=owners.get(token))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    webhook = BalanceWebhook(cache, api_token=sandbox.client_id, api_secret=sandbox.client_secret)
    return Starlette(
        routes=[
            Route("/members", hello),
            Route("/vip", hello),
            Route("/hooks/balances", webhook),
            Route("/metrics", metrics.asgi()),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(TcaGateMiddleware, gate=Gate(cache, identity=identity), rules=RULES)
        ],
    )


@pytest.fixture
def session(metrics: Metrics) -> Iterator[Session]:
    with running_sandbox(port=0) as sandbox:
        tokens = {name: sandbox.access_token(name) for name in ("alice", "bob")}
        owners = {token: name for name, token in tokens.items()}
        with serve(gated_app(sandbox, metrics, owners), lifespan=True) as url:
            session = Session(sandbox, url, tokens)
            yield session
            session.close()


def test_a_session_is_counted_exactly_and_traced_without_a_secret(
    session: Session, metrics: Metrics, traced: InMemorySpanExporter
) -> None:
    alice, bob = session.tokens["alice"], session.tokens["bob"]
    assert session.get("/members", alice) == 200  # a miss: fetched from Tokenpass
    assert session.get("/members", alice) == 200  # a hit, decided at once
    assert session.get("/vip", alice) == 403  # a hit, refused by the rule
    assert session.get("/members", bob) == 403  # a miss, refused
    assert session.get("/members") == 401  # nobody
    assert session.get("/members", FORGED_TOKEN) == 401  # Tokenpass refuses the token
    accepted, signed = session.webhook(
        {"event": "promise.created", "usernames": ["bob"]}, session.sandbox.client_secret
    )
    assert accepted == 200
    forged, forged_headers = session.webhook(
        {"event": "promise.created", "usernames": ["bob"]}, "not-the-secret"
    )
    assert forged == 401
    assert session.get("/members", bob) == 403  # forgotten by the webhook: fetched again

    scraped = session.http.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    found = samples(scraped.text)
    decisions = {
        ("allowed", "/members"): 2,
        ("insufficient-tokens", "vip"): 1,
        ("insufficient-tokens", "/members"): 2,
        ("unauthenticated", "/members"): 1,
        ("identity-error", "/members"): 1,
    }
    for (outcome, rule), count in decisions.items():
        assert value(found, "tca_gate_decisions_total", outcome=outcome, rule=rule) == count
    total = sum(v for (name, _), v in found.items() if name == "tca_gate_decisions_total")
    assert total == sum(decisions.values())
    tokenpass = {"source": "tokenpass"}
    assert value(found, "tca_gate_upstream_calls_total", outcome="ok", **tokenpass) == 3
    assert value(found, "tca_gate_upstream_calls_total", outcome="unknown-holder", **tokenpass) == 1
    assert value(found, "tca_gate_upstream_seconds_count", **tokenpass) == 4
    assert value(found, "tca_gate_upstream_seconds_sum", **tokenpass) > 0
    cache = {"cache": "tokenpass"}
    # a hit per lookup: /vip looked twice (at once, then the long way for the refusal)
    assert value(found, "tca_gate_cache_hits_total", **cache) == 3
    assert value(found, "tca_gate_cache_misses_total", **cache) == 4
    assert value(found, "tca_gate_cache_fetches_total", **cache) == 4
    # the cache counts an unknown holder among its fetches' errors
    assert value(found, "tca_gate_cache_fetch_errors_total", **cache) == 1
    assert value(found, "tca_gate_cache_stale_served_total", **cache) == 0
    hook = {"webhook": "BalanceWebhook"}
    assert (
        value(found, "tca_gate_webhook_events_total", event="promise", outcome="accepted", **hook)
        == 1
    )
    assert (
        value(found, "tca_gate_webhook_events_total", event="unread", outcome="refused", **hook)
        == 1
    )
    assert value(found, "tca_gate_signature_refusals_total", reason="bad-signature") == 1

    spans = traced.get_finished_spans()
    fetches = [span for span in spans if span.name == "tca_gate.balances.fetch"]
    decided = [span for span in spans if span.name == "tca_gate.decision"]
    assert len(fetches) == 4
    assert [f.attributes["tca_gate.outcome"] for f in fetches if f.attributes] == [
        "ok",
        "ok",
        "unknown-holder",
        "ok",
    ]
    for fetch in fetches:
        assert fetch.attributes is not None
        assert fetch.attributes["tca_gate.source"] == "tokenpass"
        assert fetch.attributes["tca_gate.holder_kind"] == "oauth_token"
    # every decision that waited (all but the hit decided at once) has its span, the
    # fetch it waited for inside it
    assert sorted(
        str(span.attributes and span.attributes["tca_gate.outcome"]) for span in decided
    ) == sorted(
        [
            "allowed",
            "insufficient-tokens",
            "insufficient-tokens",
            "insufficient-tokens",
            "unauthenticated",
            "identity-error",
        ]
    )
    by_id = {span.context.span_id: span for span in spans if span.context is not None}
    for fetch in fetches:
        assert fetch.parent is not None
        assert by_id[fetch.parent.span_id].name == "tca_gate.decision"

    secrets = [
        alice,
        bob,
        FORGED_TOKEN,
        "alice",
        "bob",
        session.sandbox.client_secret,
        "12Fengv9kjnt69gb27oXESKnURwBfs9P34",
        "14zYNGnoh8C9MJpqAS2QEjgUYUG2TA91y3",
        signed["X-Tokenly-Auth-Signature"],
        forged_headers["X-Tokenly-Auth-Signature"],
    ]
    shown = scraped.text + "\n".join(_everything(span) for span in spans)
    for secret in secrets:
        assert secret not in shown, f"{secret!r} is in the metrics or the spans"


def _everything(span: ReadableSpan) -> str:
    """All a span exports: its name, attributes, events, links and status, as text."""
    return str(span.to_json())


def test_nothing_is_counted_before_install_or_after_uninstall() -> None:
    gate = Gate(
        StaticBalances({"users": {"alice": {"public": {"TOKENLY": 1}}}}),
        identity=lambda conn: Holder.user("alice"),
    )
    request = HTTPConnection({"type": "http", "path": "/", "headers": []})

    def decide() -> None:
        assert asyncio.run(gate.check(request, gate.rule("TOKENLY > 0"), "members")).allowed

    metrics = Metrics(CollectorRegistry())
    allowed = ("tca_gate_decisions_total", frozenset({("outcome", "allowed"), ("rule", "members")}))
    assert hooks.observer is None
    decide()  # off: not counted
    metrics.install()
    assert hooks.observer is metrics
    assert "installed" in repr(metrics)
    with pytest.raises(InvalidArgumentError, match="uninstall it first"):
        Metrics(CollectorRegistry()).install()
    decide()
    metrics.uninstall()
    assert hooks.observer is None
    decide()  # off again
    assert samples(generate_latest(metrics.registry).decode()).get(allowed) == 1


def test_one_registry_takes_one_metrics() -> None:
    registry = CollectorRegistry()
    Metrics(registry)
    with pytest.raises(InvalidArgumentError, match="make one Metrics per registry"):
        Metrics(registry)


def test_watching_a_cache_takes_a_unique_name() -> None:
    metrics = Metrics(CollectorRegistry())
    cache = CachedBalances(StaticBalances({}))
    metrics.watch(cache, name="local")
    with pytest.raises(InvalidArgumentError, match="watched already"):
        metrics.watch(CachedBalances(StaticBalances({})), name="local")
    with pytest.raises(InvalidArgumentError, match="must be a word"):
        metrics.watch(cache, name=" ")
    with pytest.raises(InvalidArgumentError, match="keeps no stats"):
        metrics.watch(StaticBalances({}), name="static")  # type: ignore[arg-type]
