"""Configuration mistakes a newcomer makes, met as they would meet them: the app served by
a real ``uvicorn`` process. Each fails at start-up (uvicorn exits non-zero) or, where
start-up cannot tell, on the request (a 500), with a message naming the fix; none fails
silently, none sends a browser round the login."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2

from tests.support.redis_server import free_port

#: The start of every app module: a gate over fixed holdings, users named by a header.
PREAMBLE = """\
import contextlib
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from tca_gate.balances import StaticBalances
from tca_gate.gate import Gate, TcaGateMiddleware, header_identity

HOLDINGS = {"users": {"alice": {"public": {"TOKENLY": 100_000_000}}, "bob": {}}}
by_header = Gate(StaticBalances(HOLDINGS), identity=header_identity("X-User"))


async def page(request):
    return PlainTextResponse("welcome")

"""
BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def uvicorn(tmp_path: Path, app_source: str) -> tuple[subprocess.Popen[str], str]:
    """``uvicorn gated_app:app`` (lifespan on) in a process of its own, and its URL."""
    (tmp_path / "gated_app.py").write_text(PREAMBLE + textwrap.dedent(app_source))
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "gated_app:app", "--app-dir", str(tmp_path)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "on"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process, f"http://127.0.0.1:{port}"


def failed_start(tmp_path: Path, app_source: str) -> str:
    """What uvicorn said when the app failed to start (it must exit, and not with 0)."""
    process, _ = uvicorn(tmp_path, app_source)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"the app started, its mistake unnoticed:\n{output}") from None
    assert process.returncode not in (0, None), output
    assert "Application startup complete" not in output
    return output


@contextlib.contextmanager
def running(tmp_path: Path, app_source: str, log: list[str]) -> Iterator[str]:
    """The app served until the block ends; what uvicorn logged lands in ``log``."""
    process, url = uvicorn(tmp_path, app_source)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(url + "/-", timeout=1)
                break
            except httpx2.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.communicate()[0]) from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        log.append(process.communicate(timeout=30)[0])


def test_a_path_rule_no_route_answers_fails_the_start_naming_the_near_routes(
    tmp_path: Path,
) -> None:
    output = failed_start(
        tmp_path,
        """
        app = Starlette(
            routes=[Route("/members", page), Route("/members/{room}", page)],
            middleware=[Middleware(TcaGateMiddleware, gate=by_header,
                                   rules={"/member/{rest:path}": "TOKENLY >= 1"})],
        )
        """,
    )
    assert "the path rule '/member/{rest:path}' matches no route of the app" in output
    assert "routes like it: '/members/{room}', '/members'" in output


def test_routes_the_apps_own_start_up_adds_are_guarded(tmp_path: Path) -> None:
    log: list[str] = []
    source = """
        @contextlib.asynccontextmanager
        async def lifespan(app):
            app.router.routes.append(Route("/late", page, name="late"))
            app.router.routes.append(Route("/later/{room}", page))
            yield

        app = Starlette(
            routes=[Route("/-", page)],
            middleware=[Middleware(TcaGateMiddleware, gate=by_header,
                                   rules={"route:late": "TOKENLY >= 1",
                                          "/later/{room}": "TOKENLY >= 1"})],
            lifespan=lifespan,
        )
        """
    with running(tmp_path, source, log) as url:
        for path in ("/late", "/later/lounge"):
            assert httpx2.get(url + path, headers={"x-user": "bob"}).status_code == 403
            assert httpx2.get(url + path).status_code == 401
            allowed = httpx2.get(url + path, headers={"x-user": "alice"})
            assert (allowed.status_code, allowed.text) == (200, "welcome")
    assert "Application startup complete" in log[0]


def test_sessions_listed_after_the_gate_fail_the_start_naming_the_order(tmp_path: Path) -> None:
    output = failed_start(
        tmp_path,
        """
        app = Starlette(
            routes=[Route("/members", page)],
            middleware=[
                Middleware(TcaGateMiddleware, gate=Gate(StaticBalances(HOLDINGS)),
                           rules={"/members": "TOKENLY >= 1"}),
                Middleware(SessionMiddleware, secret_key="not-a-secret-for-tests"),
            ],
        )
        """,
    )
    assert "SessionMiddleware is listed after TcaGateMiddleware" in output
    assert "list it before (outside) TcaGateMiddleware" in output


def test_the_login_identity_without_sessions_is_a_500_naming_the_fix_never_a_login_loop(
    tmp_path: Path,
) -> None:
    log: list[str] = []
    source = """
        from tca_gate.gate import login_identity
        from tca_gate.login import TokenpassLogin

        login = TokenpassLogin("http://127.0.0.1:9", "client-id", "client-secret")
        gated = {
            "/members": Gate(StaticBalances(HOLDINGS)),
            "/vip": Gate(StaticBalances(HOLDINGS), identity=login_identity()),
            "/lounge": Gate(StaticBalances(HOLDINGS), identity=login.identity("public")),
        }
        app = Starlette(
            routes=[Route("/-", page), *(Route(path, page) for path in gated)],
            middleware=[Middleware(TcaGateMiddleware, gate=gate, rules={path: "TOKENLY >= 1"})
                        for path, gate in gated.items()],
        )
        """
    with running(tmp_path, source, log) as url:
        answers = [
            httpx2.get(url + path, headers=BROWSER) for path in ("/members", "/vip", "/lounge")
        ]
        assert httpx2.get(url + "/-").status_code == 200  # ungated paths are untouched
    assert [answer.status_code for answer in answers] == [500, 500, 500]  # not 303 to log in
    assert "request has neither: add SessionMiddleware (for the login)" in log[0]
    assert "the request has no session: add SessionMiddleware and list it before" in log[0]
    assert "LoginConfigError: Tokenpass login keeps the login in the session: add" in log[0]
