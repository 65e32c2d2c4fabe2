"""Tests of ``tca_gate.tdx``: the TDX clients against their emulator over loopback."""
