"""The sandbox's seed files, its database file and its ``tca-gate sandbox`` command."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tca_gate._cli import main
from tca_gate.sandbox import SeedError, create_app, load_seed, parse_seed
from tca_gate.sandbox._bitcoin import is_valid_address
from tests.sandboxes import TEST_SEED, running_sandbox

_CLIENT = """
[[client]]
client_id = "a"
client_secret = "b"
name = "c"
redirect_uris = ["http://127.0.0.1:9/cb"]
"""
_USER = """
[[user]]
username = "u"
password = "p"
email = "u@example.com"
"""


def test_the_demo_seed_has_an_app_three_users_and_valid_addresses() -> None:
    seed = load_seed()
    assert [user.username for user in seed.users] == ["alice", "bob", "carol"]
    assert seed.clients[0].client_id == "demo-app"
    assert all(is_valid_address(address.address) for address in seed.addresses)
    assert {perk.token for perk in seed.perks} == {"TOKENLY", "LTBCOIN"}


def test_amounts_are_exact_token_amounts() -> None:
    seed = load_seed(TEST_SEED)
    assert seed.addresses[0].balances == {"TOKENLY": 150_000_000, "LTBCOIN": 10_000_000_000}
    assert seed.addresses[4].balances == {"LTBCOIN": 1}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (_CLIENT + _USER + "[[address]]\naddress = '1NotValid'\n", "address[1]: address"),
        (_CLIENT + _USER + "[[user]]\nusername='u'\npassword='p'\nemail='x@e.com'\n", "username"),
        (_CLIENT + "[[user]]\nusername = 'u'\npassword = 'p'\nemail = 'e'\ncolour = 1\n", "colour"),
        (
            _CLIENT + "[[address]]\naddress = '1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt'\n"
            "balances = { LTBCOIN = 1.5 }\n",
            "float",
        ),
        (
            _CLIENT + "[[address]]\naddress = '1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt'\n"
            "balances = { LTBCOIN = '-1' }\n",
            "balances.LTBCOIN",
        ),
        (
            _CLIENT + "[[address]]\naddress = '1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt'\nuser = 'x'\n",
            "user",
        ),
        (_CLIENT.replace('redirect_uris = ["http://127.0.0.1:9/cb"]', ""), "redirect_uris"),
    ],
)
def test_a_bad_seed_names_the_entry_and_field(text: str, where: str) -> None:
    with pytest.raises(SeedError, match=where.replace("[", r"\[").replace("]", r"\]")):
        parse_seed(text)


def test_a_promise_beyond_the_source_balance_is_refused_whole() -> None:
    text = (
        _CLIENT
        + "[[address]]\naddress = '1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt'\nbalances = { X = 1 }\n"
        + "[[promise]]\nsource = '1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt'\n"
        + "destination = '1DqupSozZdgmCGkD3vWwGEnr3txZDK45c2'\nasset = 'X'\nquantity = 2\n"
    )
    with pytest.raises(SeedError, match="quantity"):
        create_app(parse_seed(text))


def test_a_database_file_keeps_its_data(tmp_path: Path) -> None:
    database = tmp_path / "sandbox.sqlite"
    with running_sandbox(db=database) as sandbox:
        sandbox.set_balance("1Nxsa2QBncYNwX4ckWDMvcCP2qcwsp49Zi", "TOKENLY", 10**8)
    with running_sandbox(db=database) as sandbox:
        token = sandbox.access_token("carol", ["user", "tca"])
        answer = sandbox.api("GET", "tca/check/carol", params={"TOKENLY": "1"}, oauth_token=token)
        assert answer.json() == {"result": True}


def test_the_command_refuses_a_bad_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed = tmp_path / "bad.toml"
    seed.write_text("[[client]]\n")
    assert main(["sandbox", "--seed", str(seed)]) == 2
    assert "bad.toml: client[1]: redirect_uris: must be" in capsys.readouterr().err


def test_the_command_serves_the_sandbox(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tca_gate", "sandbox", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/perks/TOKENLY")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        assert answer.json() == {"token": "TOKENLY", "chatCount": 3}
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert b"app demo-app: secret demo-app-secret" in output


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
