"""Tests of ``tca_gate.counterparty``: the Counterparty Core API v2 client and its emulator."""
