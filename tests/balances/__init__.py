"""Tests of ``tca_gate.balances``: the balance sources, the caches (in memory and in Redis) and the
balance webhook."""
