"""``SandboxServer``: a sandbox under uvicorn in a background thread, driven from Python.

For your own tests, the docs and demos: signed API calls as the seed's first app,
OAuth access tokens through the real authorize form (no browser), and the
sandbox-only endpoints (balances, instant-verify codes, faults).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping, Sequence
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from starlette.applications import Starlette

from tca_gate.errors import SandboxError, shorten
from tca_gate.rules import tokens_to_sat
from tca_gate.signing.tokenly import sign_tokenly_request
from tca_gate.wire.serving import BackgroundServer, Startable, listen

from ._app import create_app
from ._clock import Clock, system_clock
from ._endpoint import BODY_METHODS
from ._seed_file import Seed, SeedClient, load_seed
from ._state import DEFAULT_TOKEN_LIFETIME

_STOP_TIMEOUT = 60.0


class SandboxServer(Startable):
    """A Tokenpass sandbox serving on ``127.0.0.1`` while the ``with`` block runs.

    ``seed`` is a ``Seed`` or a seed file (the demo seed when None); ``port`` 0 picks a
    free one. The other options are ``create_app``'s. The seed's first app is the
    caller of ``api`` and the OAuth client of ``access_token``.

    >>> from tca_gate.sandbox import SandboxServer
    >>> with SandboxServer() as sandbox:
    ...     token = sandbox.access_token("alice", ["user", "tca"])
    ...     answer = sandbox.api("GET", "tca/check/alice", params={"TOKENLY": "1"},
    ...                          oauth_token=token)
    >>> answer.json()
    {'result': True}
    """

    def __init__(
        self,
        seed: Seed | str | Path | None = None,
        *,
        db: str | Path = ":memory:",
        port: int = 0,
        admin_token: str | None = None,
        replay_protection: bool = False,
        clock: Clock = system_clock,
        token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
        webhook_urls: Mapping[str, str | None] | None = None,
        counterparty: str | None = None,
    ) -> None:
        self.seed = seed if isinstance(seed, Seed) else load_seed(seed)
        self.admin_token = admin_token
        self._options: dict[str, Any] = {
            "db": db,
            "admin_token": admin_token,
            "replay_protection": replay_protection,
            "clock": clock,
            "token_lifetime": token_lifetime,
            "webhook_urls": webhook_urls,
            "counterparty": counterparty,
        }
        self._port = port
        self._app: Starlette | None = None
        self._url: str | None = None
        self._server: BackgroundServer | None = None
        self._http: httpx2.Client | None = None
        self._socket: socket.socket | None = None

    def start(self) -> None:
        """Create the app (seeding a new database) and serve it; returns once it listens."""
        if self._app is not None:
            raise SandboxError("the sandbox is already running")
        self._app = create_app(self.seed, **self._options)
        try:
            self._socket = listener = listen("127.0.0.1", self._port, error=_cannot_listen)
        except SandboxError:
            self.stop()
            raise
        self._server = BackgroundServer(
            self._app,
            listener,
            name="the sandbox",
            error=SandboxError,
            lifespan="off",
            stop_timeout=_STOP_TIMEOUT,
        )
        try:
            self._server.start()
        except SandboxError:
            self.stop()
            raise
        self._url = self._server.url
        self._http = httpx2.Client(base_url=self._url, timeout=30)

    def stop(self) -> None:
        """Stop serving, let requests in flight finish, then close the database.

        A file database keeps its data. The database stays open (and this raises)
        if the server thread has not ended after a minute, since it may still use it.
        """
        server, self._server = self._server, None
        stopped = server.stop() if server is not None else True
        if self._http is not None:
            self._http.close()
        if self._socket is not None:
            self._socket.close()
        app = self._app
        self._app = self._http = self._socket = None
        self._url = None
        if not stopped:
            raise SandboxError(f"the sandbox did not stop within {_STOP_TIMEOUT:g} s")
        if app is not None:
            app.state.sandbox.store.close()

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:{port}``."""
        if self._url is None:
            raise SandboxError("the sandbox is not running: use it in a with block")
        return self._url

    @property
    def app(self) -> Starlette:
        """The running Starlette app."""
        if self._app is None:
            raise SandboxError("the sandbox is not running: use it in a with block")
        return self._app

    @property
    def client(self) -> SeedClient:
        """The seed's first app, the caller of ``api`` and the OAuth client."""
        if not self.seed.clients:
            raise SandboxError("the seed has no [[client]] to call the sandbox as")
        return self.seed.clients[0]

    @property
    def client_id(self) -> str:
        """The first app's ``client_id`` (its API token too)."""
        return self.client.client_id

    @property
    def client_secret(self) -> str:
        """The first app's ``client_secret`` (its API secret too)."""
        return self.client.client_secret

    @property
    def redirect_uri(self) -> str:
        """The first app's first redirect URI."""
        return self.client.redirect_uris[0]

    def password_of(self, username: str) -> str:
        """The seeded password of ``username``."""
        for user in self.seed.users:
            if user.username.lower() == username.lower():
                return user.password
        raise SandboxError(f"the seed has no user {shorten(username)!r}")

    def api(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        oauth_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> httpx2.Response:
        """A Tokenly-HMAC-signed call to ``/api/v1/{path}`` as the first app (or another).

        ``oauth_token`` goes in the query (GET, DELETE) or the JSON body. GET is signed
        over ``{}``, DELETE over its query parameters, other methods over the body.
        """
        method = method.upper()
        url = f"{self.url}/api/v1/{path}"
        query = dict(params or {})
        payload = dict(body or {})
        if oauth_token is not None:
            (payload if method in BODY_METHODS else query)["oauth_token"] = oauth_token
        sent = httpx2.QueryParams(query)
        token, secret = client_id or self.client_id, client_secret or self.client_secret
        http = self._client()
        if method in BODY_METHODS:
            headers = sign_tokenly_request(method, url, payload, token, secret)
            headers["Content-Type"] = "application/json"
            text = json.dumps(payload, separators=(",", ":"))
            return http.request(method, url, params=sent, content=text, headers=headers)
        signed = dict(sent.multi_items()) if method == "DELETE" else None
        headers = sign_tokenly_request(method, url, signed, token, secret)
        return http.request(method, url, params=sent, headers=headers)

    def authorization_code(
        self,
        username: str,
        scopes: Sequence[str] = ("user", "tca"),
        *,
        state: str = "sandbox-state",
        redirect_uri: str | None = None,
        code_verifier: str | None = None,
    ) -> str:
        """Log in on the authorize page as ``username`` and grant ``scopes``; the code.

        With ``code_verifier`` the request carries its S256 ``code_challenge`` (PKCE).
        """
        oauth = {
            "client_id": self.client_id,
            "redirect_uri": redirect_uri or self.redirect_uri,
            "scope": ",".join(scopes),
            "response_type": "code",
            "state": state,
        }
        if code_verifier is not None:
            oauth |= {
                "code_challenge": create_s256_code_challenge(code_verifier),
                "code_challenge_method": "S256",
            }
        http = self._client()
        page = http.get("/oauth/authorize", params=oauth)
        if page.status_code != 200:
            raise _refused("the authorize page", page)
        form = _hidden_fields(page.text) | {
            "username": username,
            "password": self.password_of(username),
            "decision": "grant",
        }
        answer = http.post("/oauth/authorize", data=form)
        location: str = answer.headers.get("location", "")
        found = parse_qs(urlsplit(location).query)
        if answer.status_code != 302 or "code" not in found:
            raise _refused(f"logging in as {shorten(username)!r}", answer)
        return found["code"][0]

    def exchange(
        self, code: str, *, redirect_uri: str | None = None, code_verifier: str | None = None
    ) -> httpx2.Response:
        """POST ``code`` to the token endpoint with ``client_secret_post``; the raw answer."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or self.redirect_uri,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        if code_verifier is not None:
            form["code_verifier"] = code_verifier
        return self._client().post("/oauth/access-token", data=form)

    def access_token(self, username: str, scopes: Sequence[str] = ("user", "tca")) -> str:
        """An OAuth access token for ``username`` with ``scopes``, through the real flow."""
        answer = self.exchange(self.authorization_code(username, scopes))
        if answer.status_code != 200:
            raise _refused("the token exchange", answer)
        token: str = answer.json()["access_token"]
        return token

    def admin(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> httpx2.Response:
        """A call to the sandbox-only ``/sandbox/{path}``, with the admin token if any."""
        headers = {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}
        return self._client().request(
            method, f"/sandbox/{path}", json=None if body is None else dict(body), headers=headers
        )

    def set_balance(
        self,
        address: str,
        asset: str,
        sat: int | None = None,
        *,
        tokens: int | str | Decimal | None = None,
    ) -> None:
        """Set an address's balance of ``asset``: ``sat`` satoshis, or ``tokens`` tokens."""
        if (sat is None) == (tokens is None):
            raise SandboxError("set_balance needs either sat or tokens, not both")
        amount = tokens_to_sat(tokens) if tokens is not None else sat
        answer = self.admin("PUT", f"balances/{address}/{asset}", {"balance_sat": amount})
        if answer.status_code != 200:
            raise _refused("setting a balance", answer)

    def instant_verify_code(self, username: str) -> str:
        """A fresh message for ``instant-verify/{username}``, valid 10 minutes."""
        answer = self.admin("POST", f"instant-verify/{username}")
        if answer.status_code != 200:
            raise _refused("minting an instant-verify code", answer)
        msg: str = answer.json()["msg"]
        return msg

    def inject_faults(self, status: int, count: int = 1, **options: Any) -> None:
        """The next ``count`` API or OAuth requests answer ``status`` (``path_prefix``,
        ``retry_after`` and ``delay`` as ``POST /sandbox/faults`` takes them)."""
        answer = self.admin("POST", "faults", {"status": status, "count": count, **options})
        if answer.status_code != 200:
            raise _refused("injecting faults", answer)

    def clear_faults(self) -> int:
        """Drop the faults still queued; how many there were."""
        answer = self.admin("DELETE", "faults")
        if answer.status_code != 200:
            raise _refused("clearing faults", answer)
        cleared: int = answer.json()["cleared"]
        return cleared

    def _client(self) -> httpx2.Client:
        if self._http is None:
            raise SandboxError("the sandbox is not running: use it in a with block")
        return self._http


class _HiddenFields(HTMLParser):
    """Collects the ``<input type="hidden">`` fields of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


def _hidden_fields(page: str) -> dict[str, str]:
    parser = _HiddenFields()
    parser.feed(page)
    parser.close()
    return parser.fields


def _cannot_listen(reason: str) -> SandboxError:
    return SandboxError(f"the sandbox {reason}")


def _refused(what: str, answer: httpx2.Response) -> SandboxError:
    return SandboxError(f"{what} failed: HTTP {answer.status_code}: {shorten(answer.text, 200)}")
