"""Tests of ``tca_gate.signing.tdx``: TDX-style HMAC signing: the signed text, the verifier and
``TDXAuthMiddleware``."""
