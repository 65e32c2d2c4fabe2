"""``Metrics``: the observer that counts with prometheus-client and traces with the
OpenTelemetry API."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from enum import Enum
from types import TracebackType
from typing import Protocol

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, make_asgi_app
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from starlette.types import Receive, Scope, Send

from tca_gate.__version__ import __version__
from tca_gate.errors import InvalidArgumentError
from tca_gate.observe import Attribute, Observer, Span, hooks, install

#: The webhook event families a label may name; any other event is counted as ``other``.
EVENT_FAMILIES = frozenset({"promise", "delivery", "balances"})

#: The ``CacheStats`` counters exposed for each watched cache: (field, metric, help).
CACHE_COUNTERS = (
    ("hits", "tca_gate_cache_hits", "Reads answered from the cache."),
    ("misses", "tca_gate_cache_misses", "Reads the cache could not answer by itself."),
    ("stale_served", "tca_gate_cache_stale_served", "Stale answers served: the source failed."),
    ("upstream_calls", "tca_gate_cache_fetches", "Calls the cache made to its source."),
    ("upstream_errors", "tca_gate_cache_fetch_errors", "Calls to the source that failed."),
)


class Stats(Protocol):
    """The counters a watched cache keeps (``CacheStats``)."""

    hits: int
    misses: int
    upstream_calls: int
    upstream_errors: int
    stale_served: int


class Counted(Protocol):
    """A cache with counters: ``CachedBalances``, ``RedisCachedBalances``."""

    @property
    def stats(self) -> Stats: ...


class Metrics(Observer):
    """Counts what the gate, the balance sources and caches, the webhooks and the verifying
    middlewares do, in ``registry`` (prometheus-client's default one unless given), and
    traces balance fetches and gate decisions with OpenTelemetry (through
    ``tracer_provider``, by default the global one, so spans go wherever the application's
    OpenTelemetry set-up sends them; without one they cost next to nothing).

    Nothing is observed until ``install()`` (or a ``with`` block) makes it the process's
    observer; ``watch(cache, name=...)`` adds a cache's counters, read at each scrape.
    Labels and span attributes carry outcomes, rule names, source and cache names and
    reason codes: never a token, username, address or signature.

    >>> from prometheus_client import CollectorRegistry, generate_latest
    >>> from tca_gate.balances import CachedBalances, StaticBalances
    >>> cache = CachedBalances(StaticBalances({}))
    >>> with Metrics(CollectorRegistry()) as metrics:
    ...     metrics.watch(cache, name="balances")
    ...     text = generate_latest(metrics.registry).decode()
    >>> 'tca_gate_cache_hits_total{cache="balances"} 0.0' in text
    True
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        tracer_provider: trace.TracerProvider | None = None,
    ) -> None:
        self.registry = REGISTRY if registry is None else registry
        try:
            self._register(self.registry)
        except ValueError as error:  # prometheus-client's duplicated time series
            raise InvalidArgumentError(
                f"this registry has tca-gate's metrics already ({error}): make one Metrics "
                "per registry, or give each its own (Metrics(CollectorRegistry()))"
            ) from error
        self.tracer = trace.get_tracer("tca_gate", __version__, tracer_provider=tracer_provider)
        self._decided: dict[tuple[str, str], Counter] = {}

    def _register(self, into: CollectorRegistry) -> None:
        """Make the metrics in ``into``."""
        self._decisions = Counter(
            "tca_gate_decisions",
            "Gate decisions by outcome and rule (its name, else its path pattern).",
            ["outcome", "rule"],
            registry=into,
        )
        self._upstream = Counter(
            "tca_gate_upstream_calls",
            "Balance questions to a source, by outcome (unavailable and error: failures).",
            ["source", "outcome"],
            registry=into,
        )
        self._upstream_seconds = Histogram(
            "tca_gate_upstream_seconds",
            "How long a source took to answer a balance question, retries included.",
            ["source"],
            registry=into,
        )
        self._webhooks = Counter(
            "tca_gate_webhook_events",
            "Webhook requests by endpoint, event family and outcome.",
            ["webhook", "event", "outcome"],
            registry=into,
        )
        self._refusals = Counter(
            "tca_gate_signature_refusals",
            "Signed requests refused by a verifying middleware or webhook, by reason code.",
            ["reason"],
            registry=into,
        )
        self._revocations = Counter(
            "tca_gate_revocations",
            "Open connections (websocket, stream) the gate closed when judged again, by "
            "outcome and rule.",
            ["outcome", "rule", "kind"],
            registry=into,
        )
        self._caches = _Caches()
        into.register(self._caches)

    def __repr__(self) -> str:
        installed = ", installed" if hooks.observer is self else ""
        return f"<Metrics caches={sorted(self._caches.watched)}{installed}>"

    def install(self) -> Metrics:
        """Observe the whole process with these metrics until ``uninstall()``; returns them.
        Another ``Metrics`` in place is an error: uninstall it first."""
        if hooks.observer is not None and hooks.observer is not self:
            raise InvalidArgumentError(
                f"{hooks.observer!r} is installed already: uninstall it first"
            )
        install(self)
        return self

    def uninstall(self) -> None:
        """Stop observing (the metrics keep their counts)."""
        if hooks.observer is self:
            install(None)

    def __enter__(self) -> Metrics:
        return self.install()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.uninstall()

    def watch(self, cache: Counted, *, name: str) -> None:
        """Expose ``cache``'s counters (hits, misses, stale answers, fetches and their
        errors) under the label ``cache=name``, read from ``cache.stats`` at each scrape."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError(f"a watched cache's name must be a word, not {name!r}")
        if not hasattr(cache, "stats"):
            raise InvalidArgumentError(f"{cache!r} keeps no stats to watch")
        if name in self._caches.watched:
            raise InvalidArgumentError(f"a cache named {name!r} is watched already")
        self._caches.watched[name] = cache

    def asgi(self) -> MetricsEndpoint:
        """The registry in Prometheus's text format, as an ASGI app to route or mount:
        ``Route("/metrics", metrics.asgi())``."""
        return MetricsEndpoint(self.registry)

    def decision(self, outcome: Enum, rule: str) -> None:
        # keyed by the member's plain value: hashing an Enum member runs Python code, and
        # this runs for every gated request
        key = (outcome._value_, rule)
        counter = self._decided.get(key)
        if counter is None:
            counter = self._decided[key] = self._decisions.labels(str(outcome._value_), rule)
        counter.inc()

    @contextlib.contextmanager
    def span(self, name: str, attributes: Mapping[str, Attribute]) -> Iterator[Span]:
        with self.tracer.start_as_current_span(
            name, attributes=attributes, record_exception=False, set_status_on_exception=False
        ) as span:
            try:
                yield span
            except BaseException as error:
                # the error's type only: its message may name the holder
                span.set_attribute("error.type", type(error).__qualname__)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                raise

    def fetched(self, source: str, outcome: str, seconds: float) -> None:
        self._upstream.labels(source, outcome).inc()
        self._upstream_seconds.labels(source).observe(seconds)

    def webhook(self, webhook: str, event: str, outcome: str) -> None:
        family = event.partition(".")[0] if event else "unread"
        if event and family not in EVENT_FAMILIES:
            family = "other"
        self._webhooks.labels(webhook, family, outcome).inc()

    def refused(self, reason: str) -> None:
        self._refusals.labels(reason).inc()

    def revoked(self, outcome: Enum, rule: str, kind: str) -> None:
        self._revocations.labels(str(outcome.value), rule, kind).inc()


class MetricsEndpoint:
    """prometheus-client's ``make_asgi_app`` as an object, so that Starlette's ``Route``
    serves it as an ASGI app (it takes a bare function for a request handler)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._app = make_asgi_app(registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


class _Caches(Collector):
    """The watched caches' counters, read at each scrape: nothing on the request's path."""

    def __init__(self) -> None:
        self.watched: dict[str, Counted] = {}

    def collect(self) -> Iterator[CounterMetricFamily]:
        for field, metric, text in CACHE_COUNTERS:
            family = CounterMetricFamily(metric, text, labels=["cache"])
            for name, cache in self.watched.items():
                family.add_metric([name], getattr(cache.stats, field))
            yield family

    def describe(self) -> Iterator[CounterMetricFamily]:
        for _, metric, text in CACHE_COUNTERS:
            yield CounterMetricFamily(metric, text, labels=["cache"])
