"""The example files the docs include run as the pages say: the several-workers app,
served twice over loopback like two workers sharing one Redis, against the sandbox."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx2
import pytest

from tca_gate.demo import BackgroundServer, demo_seed
from tca_gate.sandbox import SandboxServer
from tca_gate.tokenpass import TokenpassClient
from tests.support.browsing import JSON, browser, log_in

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def load(name: str) -> ModuleType:
    """A fresh module of ``docs/examples/{name}.py``, as a new worker would import it."""
    module = ModuleType(name)
    path = EXAMPLES / f"{name}.py"
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)
    return module


@contextlib.contextmanager
def two_workers(
    monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> Iterator[tuple[str, str, SandboxServer]]:
    """The several-workers app in two workers on loopback, one Redis between them, and a
    sandbox that takes logins back at either and sends balance webhooks to the first."""
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    first, second = (f"http://127.0.0.1:{ear.getsockname()[1]}" for ear in listeners)
    webhook = {"demo-app": f"{first}/hooks/balances"}
    with SandboxServer(demo_seed([first, second]), webhook_urls=webhook) as sandbox:
        monkeypatch.setenv("TOKENPASS_URL", sandbox.url)
        monkeypatch.setenv("TOKENPASS_CLIENT_ID", sandbox.client_id)
        monkeypatch.setenv("TOKENPASS_CLIENT_SECRET", sandbox.client_secret)
        monkeypatch.setenv("REDIS_URL", redis_url)
        monkeypatch.setenv("SESSION_SECRET", "one secret for every worker")
        with contextlib.ExitStack() as workers:
            for listener in listeners:
                workers.enter_context(BackgroundServer(load("several_workers").app, listener))
            yield first, second, sandbox


def test_several_workers_share_logins_balances_and_webhooks(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, redis_client: object
) -> None:
    with two_workers(monkeypatch, redis_url) as (first, second, sandbox), browser(first) as bob:
        back = log_in(bob, "/auth/login?next=/members", "bob", sandbox.password_of("bob"))
        assert (back.url.path, back.status_code) == ("/members", 403)
        # The same browser on the other worker (cookies go by host, not port): the login
        # and the cached balances are in Redis, so it is bob there too, still refused.
        there = bob.get(f"{second}/members", headers=JSON)
        assert (there.status_code, there.json()["detail"]) == (
            403,
            "Needs 1 TOKENLY, or 1,200 more LTBCOIN.",
        )
        with TokenpassClient(sandbox.url, sandbox.client_id, sandbox.client_secret) as tokenpass:
            treasury = tokenpass.get_provisional_source_list().whitelist[0].address
            tokenpass.promise_transaction(treasury, "user:bob", "LTBCOIN", 1_200 * 10**8)
        # The sandbox's signed webhook reached the first worker; both forget at once,
        # long before the 30 s the balances are cached for.
        deadline = time.monotonic() + 10
        while (answer := bob.get(f"{second}/members")).status_code != 200:
            assert time.monotonic() < deadline, answer.text
            time.sleep(0.05)
        assert answer.text == "Welcome, bob."
        with httpx2.Client() as stranger:
            assert stranger.get(f"{first}/members", headers=JSON).status_code == 401
