"""Metrics and traces: Prometheus counters and histograms of what the gate decides, what
the caches and balance sources do, what the webhooks receive and which signed requests
are refused, and OpenTelemetry spans for balance fetches and gate decisions. Off until a
``Metrics`` is installed; needs the ``metrics`` extra (prometheus-client, the
OpenTelemetry API).

``Metrics`` is the observer (``tca_gate.observe`` names the events it is told of);
``Metrics.asgi()`` serves its registry (prometheus-client's ``make_asgi_app``, made a
``MetricsEndpoint`` that Starlette routes as an ASGI app)::

    metrics = Metrics().install()
    metrics.watch(cache, name="tokenpass")
    routes.append(Route("/metrics", metrics.asgi()))

One module: ``_metrics`` (the metrics, the spans, the watched caches' collector).
"""

from __future__ import annotations

from tca_gate.extras import require_extra

require_extra("metrics", "prometheus_client", "opentelemetry.trace", needed_by="tca_gate.metrics")

from tca_gate.public import publish

from ._metrics import CACHE_COUNTERS, EVENT_FAMILIES, Metrics, MetricsEndpoint

__all__ = ["CACHE_COUNTERS", "EVENT_FAMILIES", "Metrics", "MetricsEndpoint"]

publish(__name__, globals(), __all__)
