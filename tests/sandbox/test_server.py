"""``SandboxServer``: the sandbox on loopback from Python, started and stopped cleanly."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest

from tca_gate.sandbox import SandboxError, SandboxServer, parse_seed

TREASURY = "18BF18zG8x13tXrJ6H9bbbFAGbRofqK6y8"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


def test_it_serves_the_demo_seed_on_loopback(sandbox: SandboxServer) -> None:
    assert sandbox.url.startswith("http://127.0.0.1:")
    assert (sandbox.client_id, sandbox.client_secret) == ("demo-app", "demo-app-secret")
    assert sandbox.redirect_uri == "http://127.0.0.1:8000/auth/callback"
    user = httpx2.get(
        f"{sandbox.url}/oauth/user", params={"access_token": sandbox.access_token("bob")}
    )
    assert user.json()["username"] == "bob"


def test_set_balance_takes_satoshis_or_tokens(sandbox: SandboxServer) -> None:
    sandbox.set_balance(TREASURY, "NEWCOIN", tokens="2.5")
    rule = {"NEWCOIN": "2.5"}
    assert sandbox.api("GET", f"tca/check-address/{TREASURY}", params=rule).json() == {
        "result": True
    }
    sandbox.set_balance(TREASURY, "NEWCOIN", 249_999_999)
    assert sandbox.api("GET", f"tca/check-address/{TREASURY}", params=rule).json() == {
        "result": False
    }


@pytest.mark.parametrize("amounts", [{}, {"sat": 1, "tokens": 1}])
def test_set_balance_needs_one_amount(sandbox: SandboxServer, amounts: dict[str, int]) -> None:
    with pytest.raises(SandboxError, match="either sat or tokens"):
        sandbox.set_balance(TREASURY, "NEWCOIN", **amounts)


def test_a_refusal_is_a_sandbox_error_naming_the_step(sandbox: SandboxServer) -> None:
    with pytest.raises(SandboxError, match="the seed has no user 'nobody'"):
        sandbox.access_token("nobody")
    with pytest.raises(SandboxError, match=r"the authorize page failed: HTTP 302"):
        sandbox.authorization_code("alice", ["root"])
    with pytest.raises(SandboxError, match="setting a balance failed: HTTP 4"):
        sandbox.set_balance("not-an-address", "X", 1)


def test_faults_are_queued_and_cleared(sandbox: SandboxServer) -> None:
    sandbox.inject_faults(503, count=3, path_prefix="/api/v1/perks")
    assert sandbox.api("GET", "perks/TOKENLY").status_code == 503
    assert sandbox.clear_faults() == 2
    assert sandbox.api("GET", "perks/TOKENLY").status_code == 200


def test_it_stops_cleanly_and_frees_its_port() -> None:
    server = SandboxServer(port=_free_port())
    with server:
        url = server.url
        assert httpx2.get(f"{url}/api/v1/perks/TOKENLY").status_code == 200
        with pytest.raises(SandboxError, match="already running"):
            server.start()
    with pytest.raises(httpx2.TransportError):
        httpx2.get(f"{url}/api/v1/perks/TOKENLY")
    with pytest.raises(SandboxError, match="not running"):
        _ = server.url


def test_stop_lets_a_request_in_flight_finish_before_closing_the_database() -> None:
    server = SandboxServer()
    with ThreadPoolExecutor(1) as pool:
        with server:
            server.inject_faults(200, delay=0.5, path_prefix="/api/v1/perks")
            slow = pool.submit(httpx2.get, f"{server.url}/api/v1/perks/TOKENLY", timeout=10)
            time.sleep(0.2)  # the request is in flight, waiting out its delay
        answer = slow.result()
    assert answer.json() == {"token": "TOKENLY", "chatCount": 3}


def test_a_busy_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            SandboxError, match=f"cannot listen on 127.0.0.1 port {port}: Address already in use"
        ):
            SandboxServer(port=port).start()


def test_a_file_database_keeps_its_data_between_runs(tmp_path: Path) -> None:
    database = tmp_path / "sandbox.sqlite"
    with SandboxServer(db=database) as first:
        first.set_balance("1Nxsa2QBncYNwX4ckWDMvcCP2qcwsp49Zi", "TOKENLY", tokens=1)
    with SandboxServer(db=database) as second:
        token = second.access_token("carol")
        answer = second.api("GET", "tca/check/carol", params={"TOKENLY": 1}, oauth_token=token)
    assert answer.json() == {"result": True}


def test_a_seed_without_an_app_has_no_caller() -> None:
    server = SandboxServer(parse_seed("[[perk]]\ntoken = 'X'\n"))
    with server, pytest.raises(SandboxError, match="no \\[\\[client\\]\\]"):
        server.api("GET", "perks/X")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
