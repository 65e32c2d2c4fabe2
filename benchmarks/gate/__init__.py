"""The gate over HTTP, measured in one run over loopback (``python -m benchmarks.bench_gate``):

1. ``throughput``: requests/s and p50/p99 latency (``wrk``) of a bare Starlette app, an
   un-gated route behind ``TcaGateMiddleware``, a gated route on a cache hit, and that
   route with ``tca_gate.metrics`` on, each under uvicorn in its own process pinned to
   one core, ``wrk`` pinned to another; the variants take turns over several rounds and
   the medians are compared (metrics on against off, too);
2. ``herd``: many concurrent requests for one uncached identity through the real chain
   (gate app -> ``CachedBalances`` -> ``TokenpassBalances`` -> ``SandboxServer``), then
   with ``RedisCachedBalances`` in two app processes sharing a real ``redis-server``;
3. ``memory``: what 100,000 cached identities take in ``CachedBalances``.

``harness`` runs the apps in their processes, ``report`` prints the results and judges
the targets. See ``benchmarks/README.md``.
"""
