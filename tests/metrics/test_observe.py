"""What the hooks report besides a good session, over loopback: a failing source served
stale and traced as an error (its message never recorded), every way a webhook request
ends, the verifying flow's own refusals, and the extra named when it is missing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator

import httpx2
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tca_gate import TokenlyAuthMiddleware, sign_tokenly_request
from tca_gate.balances import (
    BalanceWebhook,
    CachedBalances,
    Holder,
    StaticBalances,
    TokenpassBalances,
)
from tca_gate.metrics import Metrics
from tests.support.extras import blocked
from tests.support.sandboxes import running_sandbox
from tests.support.servers import serve

TOKEN, SECRET = "hook-token", "hook-secret"


def counts(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def of(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str) -> dict[str, float]:
    """The samples named ``name``, by their labels written ``k=v,...`` (sorted)."""
    return {
        ",".join(f"{k}={v}" for k, v in sorted(labels)): value
        for (sample, labels), value in found.items()
        if sample == name
    }


@pytest.fixture
def traced() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def metrics(traced: InMemorySpanExporter) -> Iterator[Metrics]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(traced))
    with Metrics(CollectorRegistry(), tracer_provider=provider) as installed:
        yield installed
    provider.shutdown()


def test_a_failing_source_is_counted_served_stale_and_traced_as_an_error(
    metrics: Metrics, traced: InMemorySpanExporter
) -> None:
    now = [0.0]
    with running_sandbox(port=0) as sandbox:
        source = TokenpassBalances.for_gate(sandbox.url, sandbox.client_id, sandbox.client_secret)
        cache = CachedBalances(source, ttl=10.0, stale_for=60.0, clock=lambda: now[0])
        metrics.watch(cache, name="tokenpass")

        async def twice() -> tuple[bool, bool]:
            try:
                fresh = await cache.read(Holder.user("alice"))
                now[0] = 20.0  # past the TTL, within stale_for
                sandbox.inject_faults(503, count=10)  # every attempt and retry fails
                stale = await cache.read(Holder.user("alice"))
                return fresh.stale, stale.stale
            finally:
                await source.aclose()

        assert asyncio.run(twice()) == (False, True)
        sandbox.clear_faults()
    found = counts(metrics)
    assert of(found, "tca_gate_upstream_calls_total") == {
        "outcome=ok,source=tokenpass": 1,
        "outcome=unavailable,source=tokenpass": 1,
    }
    assert of(found, "tca_gate_cache_stale_served_total") == {"cache=tokenpass": 1}
    assert of(found, "tca_gate_cache_fetch_errors_total") == {"cache=tokenpass": 1}
    ok, failed = traced.get_finished_spans()
    assert ok.status.status_code is StatusCode.UNSET
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "BalanceUnavailableError"
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "BalanceUnavailableError"
    assert failed.attributes["tca_gate.outcome"] == "unavailable"
    assert failed.attributes["tca_gate.holder_kind"] == "username"
    assert failed.events == ()  # the error's message names alice: never recorded
    assert "alice" not in failed.to_json()


class UnreachableCache(CachedBalances):
    """A cache that cannot forget, as a Redis that is down."""

    async def forget(self, *, usernames: Iterable[str] = (), addresses: Iterable[str] = ()) -> int:
        raise ConnectionError("the cache is down")


class Hooks:
    """Two balance webhooks over loopback: one on a cache, one on a cache that is down."""

    def __init__(self, url: str) -> None:
        self.url = url

    def post(self, path: str, body: str, *, secret: str = SECRET) -> int:
        url = self.url + path
        headers = sign_tokenly_request("POST", url, json.loads(body), TOKEN, secret)
        headers["content-type"] = "application/json"
        return httpx2.post(url, content=body, headers=headers).status_code


def test_every_way_a_webhook_ends_is_counted(metrics: Metrics) -> None:
    cache = CachedBalances(StaticBalances({}))
    app = Starlette(
        routes=[
            Route("/hooks", BalanceWebhook(cache, api_token=TOKEN, api_secret=SECRET)),
            Route(
                "/down",
                BalanceWebhook(
                    UnreachableCache(StaticBalances({})), api_token=TOKEN, api_secret=SECRET
                ),
            ),
        ]
    )
    event = json.dumps({"event": "delivery.complete", "usernames": ["bob"]})
    with serve(app) as url:
        hooks = Hooks(url)
        assert hooks.post("/hooks", event) == 200
        assert hooks.post("/hooks", json.dumps({"event": "balances.changed"})) == 400
        assert hooks.post("/hooks", json.dumps({"event": "promise.x", "usernames": 3})) == 400
        assert hooks.post("/hooks", event, secret="wrong") == 401
        assert httpx2.get(url + "/hooks").status_code == 405
        assert httpx2.post(url + "/hooks", content=b"x" * 70_000).status_code == 413
        assert hooks.post("/down", event) == 503
    found = counts(metrics)
    webhook = "webhook=BalanceWebhook"
    assert of(found, "tca_gate_webhook_events_total") == {
        f"event=delivery,outcome=accepted,{webhook}": 1,
        f"event=unread,outcome=malformed,{webhook}": 2,
        f"event=unread,outcome=refused,{webhook}": 3,
        f"event=delivery,outcome=unavailable,{webhook}": 1,
    }
    assert of(found, "tca_gate_signature_refusals_total") == {
        "reason=bad-signature": 1,
        "reason=method-not-allowed": 1,
        "reason=body-too-large": 1,
    }


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


async def hello(_: object) -> Response:
    return PlainTextResponse("hello")


def test_a_verifying_middleware_counts_its_refusals_by_reason(metrics: Metrics) -> None:
    app = TokenlyAuthMiddleware(
        Starlette(routes=[Route("/api", hello), WebSocketRoute("/live", echo)]),
        secret_for={TOKEN: SECRET},
    )

    async def handshake(url: str) -> None:
        with pytest.raises(InvalidStatus):
            async with connect(url, open_timeout=5):
                pass

    with serve(app) as url:
        assert httpx2.get(url + "/api").status_code == 401  # no auth at all
        signed = sign_tokenly_request("GET", url + "/api", None, TOKEN, SECRET)
        assert httpx2.get(url + "/api", headers=signed).status_code == 200
        assert httpx2.get(url + "/api", headers=signed).status_code == 200  # no replay store
        forged = {**signed, "X-Tokenly-Auth-Signature": "forged"}
        assert httpx2.get(url + "/api", headers=forged).status_code == 401
        asyncio.run(handshake(url.replace("http://", "ws://") + "/live"))
    assert of(counts(metrics), "tca_gate_signature_refusals_total") == {
        "reason=missing-header": 1,
        "reason=bad-signature": 1,
        "reason=signature-required": 1,
    }


def test_without_the_extra_the_import_and_the_demo_name_it() -> None:
    for missing in ("prometheus_client", "opentelemetry"):
        answer = blocked([missing], "import tca_gate.metrics")
        assert "pip install 'tca-gate[metrics]'" in answer
        assert missing in answer
    demo = """
import asyncio, httpx2
from tca_gate.demo import DemoSettings, create_demo_app
app = create_demo_app(DemoSettings("http://127.0.0.1:9", "id", "secret"))
async def scrape():
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://demo") as client:
        answer = await client.get("/metrics")
    print(answer.status_code, answer.text.strip())
asyncio.run(scrape())
"""
    shown = blocked(["prometheus_client"], demo)
    assert shown.startswith("404 tca_gate.metrics needs prometheus_client")
    assert "pip install 'tca-gate[metrics]'" in shown
