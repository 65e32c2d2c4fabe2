"""The demos and the examples run, and say what they should: the offline CLI demo, the
example rule set, and the Starlette and FastAPI example apps, driven over loopback
against a real sandbox through the real login."""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx2
import pytest

from tca_gate.demo import BackgroundServer, demo_seed
from tca_gate.sandbox import SandboxServer
from tests.support.browsing import HTML, JSON, log_in
from tests.support.processes import Started

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "cli_demo.py"
STATUSES = [0, 1, 1, 0, 0, 1, 3, 0]


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_demo", DEMO)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_demo(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEMO)],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_cli_demo_walks_through_every_step(tmp_path: Path) -> None:
    result = run_demo(tmp_path)  # from anywhere: the steps run at the repository's root
    assert (result.returncode, result.stderr) == (0, ""), result.stdout
    statuses = [int(code) for code in re.findall(r"\[exit (\d+)\]", result.stdout)]
    assert statuses == STATUSES
    assert [step.expect for step in load_demo().STEPS] == STATUSES
    assert "Needs 1,200 more LTBCOIN, or 1 LTBSTAFF." in result.stdout
    assert "Tokenpass reads stackOp_1 as an asset named STACKOP_1" in result.stdout
    assert "8 passed, 0 failed" in result.stdout


def test_the_demos_commands_work_when_pasted_at_the_repository_root() -> None:
    shown = run_demo(ROOT).stdout
    commands = re.findall(r"^   \$ tca-gate (.*)$", shown, flags=re.MULTILINE)
    assert len(commands) == len(STATUSES)
    assert "@examples/balances/alice.json" in commands[0]
    assert commands[-1] == "test examples/rules.toml"
    for command, status in zip(commands, STATUSES, strict=True):
        pasted = subprocess.run(
            [sys.executable, "-m", "tca_gate", *shlex.split(command)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert pasted.returncode == status, (command, pasted.stderr)


def test_the_demo_exits_1_naming_each_step_that_went_wrong(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = load_demo()
    # As if tca-gate were not installed: every step exits 1 ("No module named ...").
    monkeypatch.setattr(demo, "TCA_GATE", [sys.executable, "-m", "tca_gate_is_not_installed"])
    assert demo.main() == 1
    out, err = capsys.readouterr()
    assert "No module named tca_gate_is_not_installed" in out
    wrong = [n for n, status in enumerate(STATUSES, 1) if status != 1]
    assert [int(n) for n in re.findall(r"^cli_demo: step (\d+) exited 1, not", err, re.M)] == wrong
    assert "cli_demo: step 1 exited 1, not 0: tca-gate check 'LTBCOIN=10000&" in err
    assert "The web demo" not in out


def test_example_rule_set_passes() -> None:
    from tca_gate.cli import main

    assert main(["test", str(ROOT / "examples" / "rules.toml")]) == 0


# ---------------------------------------------------------------- the example apps

APPS = ["starlette_app", "fastapi_app"]
BOB_SHORT = "Needs 1 TOKENLY, or 1,200 more LTBCOIN."


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"example_{name}", ROOT / "examples" / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def running_example(name: str) -> Iterator[tuple[str, SandboxServer]]:
    """The example's app under uvicorn (its lifespan included) and a sandbox whose demo
    app has the example's callback registered; yields the app's URL and the sandbox."""
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with SandboxServer(demo_seed([url])) as sandbox:
        app = load_example(name).create_app(sandbox.url, sandbox.client_id, sandbox.client_secret)
        with BackgroundServer(app, listener):
            yield url, sandbox


def refusal(response: httpx2.Response) -> dict[str, Any]:
    """The gate's JSON refusal: the body itself, or FastAPI's ``detail``."""
    body: dict[str, Any] = response.json()
    return body["detail"] if isinstance(body.get("detail"), dict) else body


@pytest.mark.parametrize("name", APPS)
def test_an_example_app_refuses_and_allows_by_holdings(name: str) -> None:
    with running_example(name) as (url, sandbox), httpx2.Client(base_url=url) as http:
        anonymous = http.get("/members", headers=JSON)
        assert anonymous.status_code == 401
        assert refusal(anonymous)["error"] == "unauthenticated"
        assert "Log in with Tokenpass" in http.get("/").text

        home = log_in(http, f"{url}/auth/login", "bob", sandbox.password_of("bob"))
        assert (home.url.path, home.status_code) == ("/", 200)
        assert "You are bob." in home.text
        assert http.get("/lounge").status_code == 200
        refused = http.get("/members", headers=JSON)
        assert refused.status_code == 403
        assert refused.headers["cache-control"] == "private, no-store"
        body = refusal(refused)
        assert (body["error"], body["detail"]) == ("insufficient-tokens", BOB_SHORT)
        assert body["rule"] == "TOKENLY >= 1 or LTBCOIN >= 10000"

    with running_example(name) as (url, sandbox), httpx2.Client(base_url=url) as http:
        log_in(http, f"{url}/auth/login", "alice", sandbox.password_of("alice"))
        for path in ("/members", "/lounge"):
            allowed = http.get(path, headers=JSON)
            assert allowed.status_code == 200, allowed.text
            assert allowed.headers["cache-control"] == "private, no-store"
        carol = httpx2.Client(base_url=url)
        with carol:
            log_in(carol, f"{url}/auth/login", "carol", sandbox.password_of("carol"))
            lounge = carol.get("/lounge", headers=JSON)
            assert lounge.status_code == 403
            assert refusal(lounge)["detail"] == "Needs 1,000 LTBCOIN."


CAROL_PRIVATE = "1Nxsa2QBncYNwX4ckWDMvcCP2qcwsp49Zi"  # carol's one address, not public


@pytest.mark.parametrize("name", APPS)
def test_an_example_app_decides_as_tokenpass_counting_private_addresses(name: str) -> None:
    with running_example(name) as (url, sandbox), httpx2.Client(base_url=url) as http:
        sandbox.set_balance(CAROL_PRIVATE, "LTBCOIN", tokens=1000)
        log_in(http, f"{url}/auth/login", "carol", sandbox.password_of("carol"))
        token = sandbox.access_token("carol", ["user", "tca"])
        check = sandbox.api("GET", "tca/check/carol", params={"LTBCOIN": "1000"}, oauth_token=token)
        assert check.json() == {"result": True}
        assert http.get("/lounge", headers=JSON).status_code == 200


@pytest.mark.parametrize("name", APPS)
def test_an_example_app_keeps_the_token_off_the_cookie_and_logs_out_by_post(name: str) -> None:
    with running_example(name) as (url, sandbox), httpx2.Client(base_url=url) as http:
        home = log_in(http, f"{url}/auth/login", "bob", sandbox.password_of("bob"))
        cookie = http.cookies["session"]
        session = json.loads(base64.b64decode(cookie.split(".")[0] + "=="))
        assert list(session["tca_gate.login"]) == ["sid"]  # a random id: the token is not there
        found = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
        assert found is not None, home.text
        copied = dict(http.cookies)
        assert http.post("/auth/logout").status_code == 403  # without the form's token
        out = http.post("/auth/logout", data={"csrf_token": found[1]}, follow_redirects=True)
        assert "Log in with Tokenpass" in out.text
        with httpx2.Client(base_url=url, cookies=copied) as replay:
            assert replay.get("/lounge", headers=JSON).status_code == 401


def test_the_starlette_example_sends_browsers_to_log_in_and_back() -> None:
    with running_example("starlette_app") as (url, sandbox), httpx2.Client(base_url=url) as http:
        sent = http.get("/members", headers=HTML)
        assert (sent.status_code, sent.headers["location"]) == (303, "/auth/login?next=%2Fmembers")
        page = log_in(http, f"{url}/members", "bob", sandbox.password_of("bob"))
        assert (page.url.path, page.status_code) == ("/members", 403)
        assert BOB_SHORT in page.text
        alice = log_in(http, f"{url}/auth/login?next=/members", "alice", "alice-password")
        assert (alice.url.path, alice.status_code) == ("/members", 200)
        assert alice.text == "Welcome to the members' page, alice."


def test_the_fastapi_example_shows_its_guard_in_the_openapi_document() -> None:
    app = load_example("fastapi_app").create_app("http://127.0.0.1:9", "id", "secret")
    paths = app.openapi()["paths"]
    assert paths["/members"]["get"]["security"] == [{"TokenpassLogin": []}]
    assert paths["/lounge"]["get"]["security"] == [{"TokenpassLogin": []}]
    assert "security" not in paths["/"]["get"]


@pytest.mark.parametrize("name", APPS)
def test_an_example_runs_alone_with_a_sandbox_of_its_own(name: str) -> None:
    env = {**os.environ, "PORT": "0"}
    env.pop("TOKENPASS_URL", None)
    started = Started([sys.executable, str(ROOT / "examples" / f"{name}.py")], env)
    try:
        _, found = started.read_until(r"^open (http://127\.0\.0\.1:\d+); Tokenpass is a sandbox")
        lines, _ = started.read_until(r"^log in as ")
        assert "bob/bob-password" in lines[-1]
        assert "Log in with Tokenpass" in httpx2.get(found[1]).text
    finally:
        status, err = started.interrupt()
    assert (status, err) == (0, "")
