"""The sandbox's seed files, its database file and its ``tca-gate sandbox`` command."""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from tca_gate.cli import main
from tca_gate.sandbox import SeedError, create_app, load_seed, parse_seed
from tca_gate.signing.bitcoin import is_valid_address
from tests.support.data import ROOT
from tests.support.sandboxes import TEST_SEED, running_sandbox

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


_CONFLICTING = (
    _CLIENT
    + "[[address]]\naddress = '1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt'\nbalances = { X = 1 }\n"
    + "[[promise]]\nsource = '1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt'\n"
    + "destination = '1DqupSozZdgmCGkD3vWwGEnr3txZDK45c2'\nasset = 'X'\nquantity = 2\n"
)


def test_a_promise_beyond_the_source_balance_is_refused_whole() -> None:
    with pytest.raises(SeedError, match="quantity"):
        create_app(parse_seed(_CONFLICTING))


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


def _run_command(*arguments: str) -> tuple[str, str]:
    """Start ``tca-gate sandbox`` on a free port, check it answers, stop it; stdout, stderr."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tca_gate", "sandbox", "--port", str(port), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                answer = httpx2.get(f"http://127.0.0.1:{port}/api/v1/perks/TOKENLY")
                break
            except httpx2.TransportError:
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        assert answer.json() == {"token": "TOKENLY", "chatCount": 3}
    finally:
        process.terminate()
        output, errors = process.communicate(timeout=10)
    return output.decode(), errors.decode()


def test_the_command_serves_the_sandbox_and_says_how_to_use_it() -> None:
    output, errors = _run_command()
    assert "warning" not in errors
    assert "tca-gate sandbox on http://127.0.0.1:" in output
    assert "seeded a new database (in memory)" in output
    assert "app demo-app: secret demo-app-secret" in output
    assert "redirect URIs: http://127.0.0.1:8000/auth/callback" in output
    for user in load_seed().users:
        assert f"user {user.username}: password {user.password}" in output


def test_a_second_run_on_a_database_file_keeps_its_data(tmp_path: Path) -> None:
    database = tmp_path / "sandbox.sqlite"
    first, _ = _run_command("--db", str(database))
    assert f"seeded a new database ({database})" in first
    second, _ = _run_command("--db", str(database))
    assert f"kept the data in {database}" in second
    assert "app demo-app: secret demo-app-secret" in second
    assert "user alice: password as seeded" in second
    assert second.count("user alice") == 1


def test_a_seed_that_does_not_fit_leaves_no_database_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = tmp_path / "conflict.toml"
    seed.write_text(_CONFLICTING)
    database = tmp_path / "sandbox.sqlite"
    assert main(["sandbox", "--seed", str(seed), "--db", str(database)]) == 2
    assert "quantity" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [seed]


def test_a_seed_that_does_not_fit_leaves_an_existing_file_empty(tmp_path: Path) -> None:
    database = tmp_path / "given.sqlite"
    database.touch()
    with pytest.raises(SeedError):
        create_app(parse_seed(_CONFLICTING), db=database)
    assert database.exists()  # not ours to remove
    with running_sandbox(db=database) as sandbox:  # still new: the demo seed fills it
        assert sandbox.access_token("alice")


def test_a_database_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "old.sqlite"
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA user_version = 1")
    db.close()
    with pytest.raises(ValueError, match="version 1, not 4"):
        create_app(db=database)


def test_a_database_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot open the sandbox database"):
        create_app(db=tmp_path / "missing" / "sandbox.sqlite")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_command_warns_when_anyone_may_reach_an_unguarded_sandbox() -> None:
    _, errors = _run_command("--host", "0.0.0.0")
    assert "0.0.0.0 is not a loopback address and /sandbox/ has no admin token" in errors
    _, guarded = _run_command("--host", "0.0.0.0", "--admin-token", "secret")
    assert "warning" not in guarded


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_a_port_out_of_range_is_a_usage_error(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sandbox", "--port", port]) == 2
    assert "is not a port number" in capsys.readouterr().err


def test_a_port_in_use_is_a_usage_error_saying_so(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["sandbox", "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1 port {port}: Address already in use" in (
        capsys.readouterr().err
    )


def test_the_seed_example_of_the_docs_is_a_seed() -> None:
    docs = ROOT / "docs" / "sandbox.md"
    example = docs.read_text("utf-8").split("```toml\n", 1)[1].split("```", 1)[0]
    seed = parse_seed(example, "docs/sandbox.md")
    assert seed.clients[0].privileged is True
    assert [(asset.chain, asset.asset, asset.divisible) for asset in seed.assets] == [
        ("bitcoin", "TOKENLY", False)
    ]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('[[asset]]\nasset = "TOKENLY"\n', "asset[1]: divisible: is required"),
        ('[[asset]]\nasset = "TOKENLY"\nchain = "9"\ndivisible = true\n', "asset[1]: chain"),
        (
            '[[asset]]\nasset = "A"\ndivisible = true\n[[asset]]\nasset = "A"\ndivisible = false\n',
            "asset[2]: asset: 'bitcoin/A' is already used",
        ),
    ],
)
def test_bad_asset_entries_are_named(entry: str, problem: str) -> None:
    with pytest.raises(SeedError, match=re.escape(problem)):
        parse_seed(entry, "seed")


def test_a_bad_chain_of_a_source_is_named() -> None:
    entry = '[[provisional_source]]\naddress = "1MqU5zdT8kg6dpfjHMKyijtvCbxc8zbfeq"\nclient = "a"\n'
    with pytest.raises(SeedError, match=re.escape("provisional_source[1]: protocol")):
        parse_seed(entry + 'protocol = "no protocol"\n', "seed")
