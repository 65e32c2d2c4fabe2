"""A running Tokenpass sandbox for tests: signed API calls, OAuth tokens without a browser.

with running_sandbox() as sandbox:                     # the demo seed
    token = sandbox.access_token("alice", ["user", "tca"])
    answer = sandbox.api("GET", "tca/check/alice", params={"TOKENLY": "1"},
                         oauth_token=token)
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from starlette.applications import Starlette

from tca_gate import sign_tokenly_request
from tca_gate.sandbox import Seed, create_app, load_seed
from tests.servers import serve

#: A fixed seed for tests that need more than the demo seed.
TEST_SEED = Path(__file__).parent / "fixtures" / "sandbox" / "seed.toml"

_BODY_METHODS = {"POST", "PATCH", "PUT"}


@dataclass
class Sandbox:
    """A sandbox under uvicorn on loopback, with the seed's first app as the caller."""

    url: str
    app: Starlette
    seed: Seed
    client_id: str
    client_secret: str
    redirect_uri: str
    admin_token: str | None = None

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
    ) -> httpx.Response:
        """A Tokenly-HMAC-signed call to ``/api/v1/{path}``, with ``oauth_token`` if given."""
        method = method.upper()
        url = f"{self.url}/api/v1/{path}"
        query = dict(params or {})
        payload = dict(body or {})
        if oauth_token is not None:
            (payload if method in _BODY_METHODS else query)["oauth_token"] = oauth_token
        client_id = client_id or self.client_id
        secret = client_secret or self.client_secret
        if method in _BODY_METHODS:
            text = json.dumps(payload, separators=(",", ":"))
            headers = sign_tokenly_request(method, url, payload, client_id, secret)
            headers["Content-Type"] = "application/json"
            return httpx.request(method, url, params=query, content=text, headers=headers)
        headers = sign_tokenly_request(method, url, None, client_id, secret)
        return httpx.request(method, url, params=query, headers=headers)

    def password_of(self, username: str) -> str:
        """The seeded password of ``username``."""
        for user in self.seed.users:
            if user.username == username:
                return user.password
        raise KeyError(f"the seed has no user {username!r}")

    def authorization_code(
        self,
        username: str,
        scopes: Sequence[str] = ("user", "tca"),
        *,
        state: str = "test-state",
        redirect_uri: str | None = None,
    ) -> str:
        """Log in on the authorize page and grant access; returns the code it redirects with."""
        oauth = {
            "client_id": self.client_id,
            "redirect_uri": redirect_uri or self.redirect_uri,
            "scope": ",".join(scopes),
            "response_type": "code",
            "state": state,
        }
        with httpx.Client(base_url=self.url) as http:
            page = http.get("/oauth/authorize", params=oauth)
            assert page.status_code == 200, page.text
            form = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
            form = {key: unescape(value) for key, value in form.items()}
            form |= {
                "username": username,
                "password": self.password_of(username),
                "decision": "grant",
            }
            answer = http.post("/oauth/authorize", data=form)
        assert answer.status_code == 302, answer.text
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query["state"] == [state]
        return query["code"][0]

    def exchange(self, code: str, *, redirect_uri: str | None = None) -> httpx.Response:
        """POST the code to the token endpoint with ``client_secret_post``."""
        return httpx.post(
            f"{self.url}/oauth/access-token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri or self.redirect_uri,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        )

    def access_token(self, username: str, scopes: Sequence[str] = ("user", "tca")) -> str:
        """An OAuth access token for ``username`` with ``scopes``, through the real flow."""
        answer = self.exchange(self.authorization_code(username, scopes))
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def admin(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """A call to the sandbox-only ``/sandbox/{path}`` endpoints."""
        headers = {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}
        return httpx.request(
            method,
            f"{self.url}/sandbox/{path}",
            json=None if body is None else dict(body),
            headers=headers,
        )

    def set_balance(self, address: str, asset: str, balance_sat: int) -> None:
        """Set an address's balance of ``asset`` in satoshis."""
        answer = self.admin("PUT", f"balances/{address}/{asset}", {"balance_sat": balance_sat})
        assert answer.status_code == 200, answer.text

    def instant_verify_code(self, username: str) -> str:
        """A fresh instant-verify message for ``username``."""
        answer = self.admin("POST", f"instant-verify/{username}")
        assert answer.status_code == 200, answer.text
        msg: str = answer.json()["msg"]
        return msg

    def inject_faults(self, status: int, count: int = 1, **options: Any) -> None:
        """The next ``count`` API requests answer ``status`` (see ``/sandbox/faults``)."""
        answer = self.admin("POST", "faults", {"status": status, "count": count, **options})
        assert answer.status_code == 200, answer.text


@contextlib.contextmanager
def running_sandbox(seed: Seed | str | Path | None = None, **options: Any) -> Iterator[Sandbox]:
    """A sandbox app from ``seed`` (the demo seed by default) under uvicorn on 127.0.0.1.

    ``options`` go to ``create_app`` (``admin_token``, ``replay_protection``, ``clock``...).
    """
    loaded = seed if isinstance(seed, Seed) else load_seed(seed)
    app = create_app(loaded, **options)
    client = loaded.clients[0]
    try:
        with serve(app) as url:
            yield Sandbox(
                url=url,
                app=app,
                seed=loaded,
                client_id=client.client_id,
                client_secret=client.client_secret,
                redirect_uri=client.redirect_uris[0],
                admin_token=options.get("admin_token"),
            )
    finally:
        app.state.sandbox.store.close()
