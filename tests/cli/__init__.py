"""Tests of ``tca_gate.cli``: the ``tca-gate`` command line."""
