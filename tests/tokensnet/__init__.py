"""Tests of ``tca_gate.tokensnet``: the Tokens.net client against its emulator: every call and
every error."""
