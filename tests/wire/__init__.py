"""Tests of ``tca_gate.wire``: the shared wire helpers (PHP's query-string primitives)."""
