"""Tests of ``tca_gate.signing.tokensoft``: Tokensoft signing: the verifier and
``TokensoftAuthMiddleware``."""
