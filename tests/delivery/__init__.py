"""Tests of ``tca_gate.delivery``: the Token Delivery client, its emulator and its webhook."""
