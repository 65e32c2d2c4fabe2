"""Tests of ``tca_gate.signing.tokensnet``: Tokens.net signing: the verifier, the middleware and
the nonces."""
