"""Tests of ``tca_gate.tokenpass``: the Tokenpass client, sync and async: each call's request and
values, against the sandbox."""
