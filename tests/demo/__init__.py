"""Tests of ``tca_gate.demo``: the web demo, over loopback and in a real browser."""
