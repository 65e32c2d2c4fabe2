"""The sandbox on live balances (``counterparty=url``, ``tca-gate sandbox --counterparty``):
its TCA checks and balance lists read the Counterparty emulator, not the seed, and a node
that cannot be read makes them answer 503."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tca_gate.counterparty.testing import CounterpartyEmulator
from tca_gate.sandbox import SandboxServer

SAT = 100_000_000
SEED = Path(__file__).parents[1] / "fixtures" / "sandbox" / "seed.toml"
ROOT = Path(__file__).parents[2]
DANA_PUBLIC = "1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt"
DANA_PRIVATE = "1DqupSozZdgmCGkD3vWwGEnr3txZDK45c2"
SUBASSET = "A95428956980101314"
#: A valid address the seed does not know (the hash of nothing; no one has its key).
STRANGER = "1111111111111111111114oLvT2"


@pytest.fixture
def node() -> CounterpartyEmulator:
    """The chain differs from the seed: dana holds 5 TOKENLY (the seed says 1.5), a card
    attached to a UTXO of her private address and a subasset; a stranger holds 2 cards."""
    node = CounterpartyEmulator()
    node.issue("TOKENLY")
    node.issue("MYCARD", divisible=False)
    node.issue(SUBASSET, longname="PARENT.child", divisible=False)
    node.set_balance(DANA_PUBLIC, "TOKENLY", 5 * SAT)
    node.set_balance(DANA_PRIVATE, "MYCARD", 1, utxo="ab" * 32 + ":0")
    node.set_balance(DANA_PRIVATE, "PARENT.child", 3)
    node.set_balance(STRANGER, "MYCARD", 2)
    return node


@pytest.fixture
def url(node: CounterpartyEmulator) -> Iterator[str]:
    with node.running() as served:
        yield served


def test_tca_checks_and_balances_read_the_live_chain(url: str) -> None:
    with SandboxServer(SEED, counterparty=url) as sandbox:
        token = sandbox.access_token("dana", ["user", "tca", "private-balances"])
        check = sandbox.api("GET", "tca/check/dana", params={"TOKENLY": "3"}, oauth_token=token)
        card = sandbox.api("GET", "tca/check/dana", params={"MYCARD": "1"}, oauth_token=token)
        public = sandbox.api("GET", "tca/public/balances", oauth_token=token).json()
        protected = sandbox.api("GET", "tca/protected/balances", oauth_token=token).json()
        stranger = httpx2.get(
            f"{sandbox.url}/api/v1/tca/check-address/{STRANGER}", params={"MYCARD": "2"}
        )
    assert check.json() == {"result": True}  # the seed's 1.5 TOKENLY would refuse
    assert card.json() == {"result": True}
    assert {item["asset"]: item["balanceSat"] for item in public} == {"TOKENLY": str(5 * SAT)}
    assert {item["asset"]: item["balanceSat"] for item in protected} == {
        "TOKENLY": str(5 * SAT),
        "MYCARD": str(SAT),
        "PARENT.child": str(3 * SAT),
    }
    assert stranger.json() == {"result": True}


def test_a_node_that_cannot_be_read_makes_the_sandbox_answer_503(
    node: CounterpartyEmulator, url: str
) -> None:
    node.catch_up()
    with SandboxServer(SEED, counterparty=url) as sandbox:
        token = sandbox.access_token("dana", ["user", "tca"])
        answer = sandbox.api("GET", "tca/check/dana", params={"TOKENLY": "1"}, oauth_token=token)
    assert answer.status_code == 503
    assert "live balances cannot be read" in answer.json()["error"]


def test_the_command_serves_live_balances(url: str) -> None:
    command = [sys.executable, "-m", "tca_gate", "sandbox", "--port", "0", "--counterparty", url]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    ) as served:
        try:
            assert served.stdout is not None
            first = served.stdout.readline()
            found = re.search(r"on (http://127\.0\.0\.1:\d+) ", first)
            assert found, first
            answer = httpx2.get(
                f"{found[1]}/api/v1/tca/check-address/{STRANGER}", params={"MYCARD": "2"}
            )
        finally:
            served.terminate()
            served.communicate(timeout=10)
    assert answer.json() == {"result": True}


def test_the_command_refuses_a_node_url_that_is_not_http(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tca_gate.cli import main

    assert main(["sandbox", "--port", "0", "--counterparty", "ftp://node"]) == 2
    assert "http(s) URL of Counterparty" in capsys.readouterr().err
