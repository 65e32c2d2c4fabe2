"""The demo on live chain balances (``DemoServer(counterparty=url)``, ``tca-gate demo
--counterparty``): its pages judge what a Counterparty node says, not the demo seed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tca_gate.cli import main
from tca_gate.counterparty.testing import CounterpartyEmulator
from tca_gate.demo import DemoServer
from tests.support.demo import logged_in

BOB = "14zYNGnoh8C9MJpqAS2QEjgUYUG2TA91y3"  # bob's public address in the demo seed
SAT = 100_000_000


@pytest.fixture
def node() -> Iterator[tuple[CounterpartyEmulator, str]]:
    """On chain, bob holds 12,000 LTBCOIN (the seed says 8,800: not enough for members)."""
    node = CounterpartyEmulator()
    node.issue("LTBCOIN")
    node.issue("TOKENLY")
    node.set_balance(BOB, "LTBCOIN", 12_000 * SAT)
    with node.running() as url:
        yield node, url


def test_the_demo_judges_the_chain_not_the_seed(
    node: tuple[CounterpartyEmulator, str],
) -> None:
    emulator, url = node
    with (
        DemoServer(port=0, sandbox_port=0, counterparty=url) as demo,
        logged_in(demo, "bob") as http,
    ):
        members = http.get("/members")
    assert members.status_code == 200, members.text  # the seed's 8,800 would be refused
    asked = [query for path, query in emulator.calls if path == "/v2/addresses/balances"]
    assert any(BOB in query.get("addresses", "") for query in asked)


def test_the_command_refuses_a_node_url_that_is_not_http(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["demo", "--port", "0", "--sandbox-port", "0", "--counterparty", "ftp://node"]
    assert main(argv) == 2
    assert "http(s) URL of Counterparty" in capsys.readouterr().err
