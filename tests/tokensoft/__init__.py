"""Tests of ``tca_gate.tokensoft``: the Tokensoft clients against their emulator,
``whitelist_user`` included."""
