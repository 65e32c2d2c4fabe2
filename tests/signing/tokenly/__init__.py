"""Tests of ``tca_gate.signing.tokenly``: Tokenly HMAC signing: the signer, ``TokenlyAuth`` and the
verifying middleware."""
