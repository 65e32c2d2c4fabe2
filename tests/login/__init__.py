"""Tests of ``tca_gate.login``: logging in with Tokenpass: the parts, the routes served over HTTP,
the whole flow."""
