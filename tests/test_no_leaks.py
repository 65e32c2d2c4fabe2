"""Nothing leaks into logs: every logger captured at DEBUG while a real app logs a user in
against the sandbox, gates pages, fetches balances, calls Tokenpass with the user's token,
takes the balance webhook (signed and forged) and logs out; no record carries the token,
the client secret or any X-Tokenly-Auth-Signature sent."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route

import tca_gate.signing.tokenly.auth
from tca_gate import sign_tokenly_request
from tca_gate.balances import CachedBalances, TokenpassBalances
from tca_gate.demo import demo_seed
from tca_gate.gate import BalanceWebhook, Gate, TcaGateMiddleware
from tca_gate.login import TokenpassLogin
from tca_gate.signing.tokenly._scheme import SIGNATURE_HEADER
from tca_gate.tokenpass import AsyncTokenpassClient
from tca_gate.wire.serving import BackgroundServer
from tests.support.browsing import JSON, log_in
from tests.support.sandboxes import running_sandbox

#: The attributes every LogRecord has; any others were passed as ``extra`` and are checked.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_FORMAT = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")


class Everything(logging.Handler):
    """Keeps every record, rendered every way a handler could render it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        extras = [f"{key}={value!r}" for key, value in vars(record).items() if key not in _STANDARD]
        self.texts.append("\n".join([record.getMessage(), _FORMAT.format(record), *extras]))


@contextlib.contextmanager
def every_logger_at_debug() -> Iterator[Everything]:
    """Route every logger, existing or yet to be made, to one handler at DEBUG (levels,
    ``propagate`` and ``disabled`` restored afterwards)."""
    handler = Everything()
    root = logging.getLogger()
    saved = {
        name: (logger.level, logger.propagate, logger.disabled)
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root_level = root.level
    logging.disable(logging.NOTSET)
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    for name in saved:
        logger = logging.getLogger(name)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
        logger.disabled = False
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(root_level)
        for name, (level, propagate, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.propagate = propagate
            logger.disabled = disabled


class Secrets:
    """What must never reach a log: user tokens, the client secret, signatures sent."""

    def __init__(self, client_secret: str) -> None:
        self.values: set[str] = {client_secret}

    def add(self, value: str | None) -> None:
        if value:
            self.values.add(value)


@dataclass(frozen=True)
class Tokenpass:
    """Where the app logs its users in: the sandbox's URL, the app's credentials, passwords."""

    url: str
    client_id: str
    client_secret: str = field(repr=False)
    passwords: dict[str, str] = field(repr=False)


@contextlib.contextmanager
def sandbox_here(app_url: str) -> Iterator[Tokenpass]:
    """The sandbox in this process: its own log records are captured too."""
    with running_sandbox(demo_seed([app_url])) as sandbox:
        passwords = {user.username: user.password for user in sandbox.seed.users}
        yield Tokenpass(sandbox.url, sandbox.client_id, sandbox.client_secret, passwords)


#: Runs the sandbox in a process of its own, as a remote Tokenpass would be.
_SANDBOX_PROCESS = """
import json, sys
from tca_gate.demo import demo_seed
from tca_gate.sandbox import SandboxServer
with SandboxServer(demo_seed([sys.argv[1]])) as sandbox:
    passwords = {user.username: user.password for user in sandbox.seed.users}
    print(json.dumps([sandbox.url, sandbox.client_id, sandbox.client_secret, passwords]))
    sys.stdout.flush()
    sys.stdin.read()
"""


@contextlib.contextmanager
def sandbox_elsewhere(app_url: str) -> Iterator[Tokenpass]:
    """The sandbox in another process: only the app's own log records are captured."""
    with subprocess.Popen(
        [sys.executable, "-c", _SANDBOX_PROCESS, app_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            url, client_id, client_secret, passwords = json.loads(process.stdout.readline())
            yield Tokenpass(url, client_id, client_secret, passwords)
        finally:
            process.stdin.close()
            process.wait(timeout=60)


def leaky_app(tokenpass: Tokenpass, secrets: Secrets) -> Starlette:
    """An app using every part that handles a secret: the login, the gate over cached
    Tokenpass balances, client calls with the user's token and the balance webhook."""
    url, client_id, client_secret = tokenpass.url, tokenpass.client_id, tokenpass.client_secret
    client = AsyncTokenpassClient(url, client_id, client_secret)
    cache = CachedBalances(TokenpassBalances(client), ttl=60)
    login = TokenpassLogin(url, client_id, client_secret)
    gate = Gate(cache, identity=login.identity())
    webhook = BalanceWebhook(cache, api_token=client_id, api_secret=client_secret)

    async def members(request: Request) -> PlainTextResponse:
        return PlainTextResponse("members")

    async def calls(request: Request) -> JSONResponse:
        """Tokenpass calls made with the user's token, as an app makes them."""
        user = await login.current_user(request)
        token = await login.access_token(request)
        assert user is not None
        assert token is not None
        secrets.add(token)
        passes = await client.check_token_access(user.username, {"TOKENLY": "1"}, token)
        addresses = await client.get_addresses_for_authenticated_user(token)
        balances = await client.get_combined_protected_balances(token)
        return JSONResponse({"passes": passes, "counts": [len(addresses), len(balances)]})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    return Starlette(
        routes=[
            Route("/members", members),
            Route("/calls", calls),
            Route("/hooks/balances", webhook),
            Mount("/auth", routes=login.routes),
        ],
        middleware=[
            Middleware(SessionMiddleware, secret_key="test-session-secret"),
            Middleware(TcaGateMiddleware, gate=gate, rules={"/members": "TOKENLY >= 1"}),
        ],
        lifespan=lifespan,
    )


@pytest.fixture
def signatures(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every X-Tokenly-Auth-Signature the app's clients compute (the real signer runs)."""
    made: list[str] = []
    real = sign_tokenly_request

    def recording(*args: Any, **kwargs: Any) -> dict[str, str]:
        headers = real(*args, **kwargs)
        made.append(headers[SIGNATURE_HEADER])
        return headers

    monkeypatch.setattr(tca_gate.signing.tokenly.auth, "sign_tokenly_request", recording)
    return made


@pytest.mark.parametrize(
    "sandbox",
    [
        pytest.param(sandbox_elsewhere, id="the-app-process"),
        pytest.param(sandbox_here, id="the-app-and-the-sandbox-in-one-process"),
    ],
)
def test_no_log_record_carries_a_token_a_secret_or_a_signature(
    signatures: list[str], sandbox: Any
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with sandbox(url) as tokenpass:
        secrets = Secrets(tokenpass.client_secret)
        app = leaky_app(tokenpass, secrets)
        with (
            BackgroundServer(app, listener),
            every_logger_at_debug() as captured,
            httpx2.Client(base_url=url) as alice,
            httpx2.Client(base_url=url) as carol,
        ):
            log_in(alice, f"{url}/auth/login", "alice", tokenpass.passwords["alice"])
            log_in(carol, f"{url}/auth/login", "carol", tokenpass.passwords["carol"])
            assert alice.get("/members", headers=JSON).status_code == 200
            assert carol.get("/members", headers=JSON).status_code == 403  # a logged refusal
            calls = alice.get("/calls")
            assert calls.json()["passes"] is True, calls.text
            carol.get("/calls")

            event = {"event": "promise.created", "usernames": ["alice", "carol"]}
            hook = f"{url}/hooks/balances"
            headers = sign_tokenly_request(
                "POST", hook, event, tokenpass.client_id, tokenpass.client_secret
            )
            secrets.add(headers[SIGNATURE_HEADER])
            body = json.dumps(event, separators=(",", ":"))
            sent = alice.post(hook, content=body, headers={**headers, **JSON_BODY})
            assert sent.json()["forgotten"] >= 1, sent.text
            forged = {**headers, SIGNATURE_HEADER: "Zm9yZ2VkLXNpZ25hdHVyZS0xMjM0NTY3ODkwYWJjZA=="}
            secrets.add(forged[SIGNATURE_HEADER])
            assert (
                alice.post(hook, content=body, headers={**forged, **JSON_BODY}).status_code == 401
            )
            assert alice.get("/members", headers=JSON).status_code == 200  # fetched again

            for client in (alice, carol):
                csrf = re.search(r'value="([^"]+)"', client.get("/auth/logout").text)
                assert csrf is not None
                out = client.post("/auth/logout", data={"csrf_token": csrf[1]})
                assert out.status_code == 303
            assert alice.get("/members", headers=JSON).status_code == 401

    for value in signatures:
        secrets.add(value)
    assert len(secrets.values) >= 6  # the secret, two tokens, signatures sent
    assert len(captured.records) > 20  # the capture saw the libraries' debug lines
    leaks = [
        (record.name, record.levelname, record.msg)
        for record, text in zip(captured.records, captured.texts, strict=True)
        if any(value in text for value in secrets.values)
    ]
    assert leaks == []


JSON_BODY = {"Content-Type": "application/json", "Accept": "application/json"}
