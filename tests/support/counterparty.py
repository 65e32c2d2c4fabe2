"""A Counterparty node's holdings for tests: the emulator, with assets issued and held."""

from __future__ import annotations

from tca_gate.counterparty.testing import CounterpartyEmulator

SUBASSET = "A95428956980101314"


def holdings() -> CounterpartyEmulator:
    """An emulated node with XCP, a non-divisible asset and a subasset issued, and alice's
    and bob's balances in them (one of alice's on a UTXO)."""
    node = CounterpartyEmulator()
    node.issue("XCP")
    node.issue("MYCARD", divisible=False)
    node.issue(SUBASSET, longname="PARENT.child", divisible=False)
    node.set_balance("1Alice", "XCP", 150_000_000)
    node.set_balance("1Alice", "XCP", 25_000_000, utxo="ab" * 32 + ":0")
    node.set_balance("1Alice", "MYCARD", 3)
    node.set_balance("1Bob", "PARENT.child", 2)
    return node
