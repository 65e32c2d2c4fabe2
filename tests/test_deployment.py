"""The tested deployment: examples/deployment.py under ``uvicorn --workers 4`` (four worker
processes, one port) on a real redis-server, or a three-master Redis Cluster, and a
sandbox Tokenpass. Logins and gated
requests reach every worker; after a holder's balance drops and the signed webhook is
answered 200, every worker refuses that holder at once (the bound docs/deploying.md
states for the Redis cache), though its balances were cached for 30 s."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest

from tca_gate.demo import demo_seed
from tca_gate.sandbox import SandboxServer
from tca_gate.signing.tokenly import params_json, sign_tokenly_request
from tests.support.browsing import JSON, browser, log_in
from tests.support.data import ROOT
from tests.support.redis_cluster import LoopbackCluster
from tests.support.redis_server import free_port, redis_server

WORKERS = 4
ALICE_MAIN = "12Fengv9kjnt69gb27oXESKnURwBfs9P34"  # TOKENLY 2, LTBCOIN 12,500.5 of her 15,500.5
REFUSED = "Needs 1 TOKENLY, or 7,000 more LTBCOIN."  # her savings' 3,000 still count
#: The near cache's TTL in the "near" deployment: no near answer outlives it after a forget.
NEAR_TTL = 1.0


@contextlib.contextmanager
def deployment(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``uvicorn examples.deployment:app --workers 4`` at the repository's root, as the
    docs run it; stopped (workers and all) by SIGTERM afterwards."""
    command = [sys.executable, "-m", "uvicorn", "examples.deployment:app"]
    command += ["--workers", str(WORKERS), "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--no-access-log", "--timeout-graceful-shutdown", "2"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def until_every_worker_answers(
    ask: Callable[[], httpx2.Response], deadline: float
) -> dict[str, list[httpx2.Response]]:
    """Ask (a new connection each time) until all four workers have answered; the answers
    by the worker (pid) that gave them."""
    seen: dict[str, list[httpx2.Response]] = {}
    while len(seen) < WORKERS:
        assert time.monotonic() < deadline, f"only workers {sorted(seen)} answered"
        answer = ask()
        seen.setdefault(answer.headers["x-worker"], []).append(answer)
    return seen


def until_every_worker_refuses(
    ask: Callable[[], httpx2.Response], deadline: float
) -> list[tuple[float, httpx2.Response]]:
    """Ask until all four workers have refused; every answer with the time it was asked."""
    refused: set[str] = set()
    answers: list[tuple[float, httpx2.Response]] = []
    while len(refused) < WORKERS:
        assert time.monotonic() < deadline, f"only workers {sorted(refused)} refused"
        asked = time.monotonic()
        answer = ask()
        answers.append((asked, answer))
        if answer.status_code == 403:
            refused.add(answer.headers["x-worker"])
    return answers


@pytest.fixture(params=["redis", "cluster", "near"])
def shared_redis(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The deployment's Redis settings: a redis-server of its own, the three-master Redis
    Cluster (``REDIS_CLUSTER=1``), or a redis-server with a near cache in each worker
    (``NEAR_TTL``)."""
    if request.param == "cluster":
        cluster: LoopbackCluster = request.getfixturevalue("cluster")
        yield {"REDIS_URL": cluster.url, "REDIS_CLUSTER": "1"}
        return
    near = {"NEAR_TTL": str(NEAR_TTL)} if request.param == "near" else {}
    with redis_server(tmp_path / "redis") as redis_url:
        yield {"REDIS_URL": redis_url, **near}


def test_four_workers_share_logins_and_all_refuse_a_holder_once_the_webhook_is_answered(
    shared_redis: dict[str, str],
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with SandboxServer(demo_seed([url])) as sandbox:
        env = {
            **shared_redis,
            "TOKENPASS_URL": sandbox.url,
            "TOKENPASS_CLIENT_ID": sandbox.client_id,
            "TOKENPASS_CLIENT_SECRET": sandbox.client_secret,
            "SESSION_SECRET": uuid.uuid4().hex,
        }
        with deployment(env, port) as process, browser(url) as alice, browser(url) as bob:
            for client in (alice, bob):
                client.headers["Connection"] = "close"  # a new connection, any worker, each time
            deadline = time.monotonic() + 30
            while True:  # the workers are up once one answers
                with contextlib.suppress(httpx2.TransportError):
                    if httpx2.get(url).status_code == 200:
                        break
                assert process.poll() is None, process.communicate()[1].decode()
                assert time.monotonic() < deadline, "the workers did not start"
                time.sleep(0.1)

            log_in(alice, "/auth/login", "alice", sandbox.password_of("alice"))
            log_in(bob, "/auth/login", "bob", sandbox.password_of("bob"))
            deadline = time.monotonic() + 20

            def members(client: httpx2.Client) -> httpx2.Response:
                return client.get("/members", headers=JSON)

            allowed = until_every_worker_answers(lambda: members(alice), deadline)
            assert {a.status_code for each in allowed.values() for a in each} == {200}
            refused = until_every_worker_answers(lambda: members(bob), deadline)
            assert {a.status_code for each in refused.values() for a in each} == {403}

            # alice's balance drops in Tokenpass: her answer, cached for 30 s, still allows
            sandbox.set_balance(ALICE_MAIN, "TOKENLY", tokens=0)
            sandbox.set_balance(ALICE_MAIN, "LTBCOIN", tokens=0)
            cached = until_every_worker_answers(lambda: members(alice), deadline)
            assert {a.status_code for each in cached.values() for a in each} == {200}

            # Tokenpass's signed webhook names her; once it is answered, every worker refuses
            event = {
                "event": "balances.changed",
                "id": str(uuid.uuid4()),
                "usernames": ["alice"],
                "addresses": [ALICE_MAIN],
            }
            hook = f"{url}/hooks/balances"
            headers = sign_tokenly_request(
                "POST", hook, event, sandbox.client_id, sandbox.client_secret
            )
            answered = httpx2.post(
                hook,
                content=params_json(event).encode(),
                headers={**headers, "Content-Type": "application/json"},
            )
            assert answered.status_code == 200, answered.text
            if "NEAR_TTL" in env:  # each worker's near cache drops her as the change arrives
                bound = time.monotonic() + NEAR_TTL
                dropped = until_every_worker_refuses(lambda: members(alice), deadline)
                late = [at for at, answer in dropped if answer.status_code != 403 and at > bound]
                assert not late, f"allowed {len(late)} times past the near cache's bound"
            after = until_every_worker_answers(lambda: members(alice), deadline)
            answers = [a for each in after.values() for a in each]
            assert [a.status_code for a in answers] == [403] * len(answers), [
                (a.headers["x-worker"], a.status_code, a.text) for a in answers
            ]
            assert {a.json()["detail"] for a in answers} == {REFUSED}
