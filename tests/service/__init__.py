"""Tests of ``tca_gate.service``: the service core every client shares: errors read from answers,
retries."""
