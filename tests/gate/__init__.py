"""Tests of ``tca_gate.gate``: ``Gate``, the middleware, the decorator, FastAPI's
``require_tokens``, served for real."""
