"""tca-gate's benchmarks, run by hand from the repository root (see ``README.md``):
``bench_rules`` times the rule engine, ``bench_gate`` (with the ``gate`` package) the
gate over HTTP; both print their tables with ``table``."""
