"""Tests of ``tca_gate.sandbox``: the Tokenpass sandbox over loopback: every endpoint, its seeds,
schema and webhooks."""
