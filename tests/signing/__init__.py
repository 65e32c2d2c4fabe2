"""Tests of ``tca_gate.signing``: request signing: each scheme's signer, verifier and middleware,
and the replay stores."""
