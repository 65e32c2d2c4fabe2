"""The gate with defaults decides as Tokenpass's ``tca/check`` (issue 11).

A ``Gate(CachedBalances(TokenpassBalances.for_gate(...)))`` without ``identity`` nor
``scope``, behind ``TokenpassLogin`` with its default scopes, under uvicorn; the sandbox
seeded with generated users (public, private, inactive and unverified addresses),
promises to addresses and to ``user:{name}`` (expired and live) and loans. Each user
logs in through the real consent page; for every gated route the app's answer (200 or
403) must be ``tca/check/{username}``'s for the same rule.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tca_gate.balances import CachedBalances, TokenpassBalances
from tca_gate.gate import Gate, TcaGateMiddleware
from tca_gate.login import TokenpassLogin
from tca_gate.sandbox import parse_seed
from tca_gate.signing.bitcoin import address_from_private_key
from tests.support.browsing import JSON
from tests.support.login import SESSION_SECRET, SettableClock, Site, consent
from tests.support.sandboxes import running_sandbox
from tests.support.servers import serve

ASSETS = ("TOKENLY", "LTBCOIN", "SOUP")
OPERATORS = (">=", ">", "=", "==", "!=", "!", "<", "<=")
KINDS = ("public", "private", "inactive", "unverified")
USERS = 4
RULES = 4
CLIENT, SECRET = "parity-app", "parity-app-secret"
#: What the gate's error says to do when the login cannot see private addresses.
FIX = "add 'private-balances' to TokenpassLogin(scopes=...)"


def address(rng: random.Random) -> str:
    """A P2PKH address of a random key."""
    return address_from_private_key(rng.randbytes(32))


def amount(rng: random.Random) -> str:
    """A small amount in tokens: a whole number or a half."""
    return f"{rng.randint(0, 4)}{rng.choice(('', '.5'))}"


def world(number: int, app_url: str) -> tuple[str, list[str], list[list[tuple[str, str]]]]:
    """A seed (TOML), its usernames and the rules (query pairs) made from ``number``."""
    rng = random.Random(number)
    now = int(time.time())
    treasury = address(rng)
    lines = [
        f'[[client]]\nclient_id = "{CLIENT}"\nclient_secret = "{SECRET}"\n'
        f'name = "Parity"\nredirect_uris = ["{app_url}/auth/callback"]',
        f'[[address]]\naddress = "{treasury}"\n'
        f"balances = {{ {', '.join(f'{asset} = 1000' for asset in ASSETS)} }}",
        f'[[provisional_source]]\naddress = "{treasury}"',
    ]
    names = [f"user{index}" for index in range(USERS)]
    owned: list[str] = []
    for name in names:
        lines.append(
            f'[[user]]\nusername = "{name}"\npassword = "{name}-password"\n'
            f'email = "{name}@example.com"'
        )
        for _ in range(rng.randint(0, 3)):
            kind = rng.choice(KINDS)
            held = {asset: amount(rng) for asset in rng.sample(ASSETS, rng.randint(0, 3))}
            where = address(rng)
            owned.append(where)
            lines.append(
                f'[[address]]\naddress = "{where}"\nuser = "{name}"\n'
                f"public = {str(kind != 'private').lower()}\n"
                f"active = {str(kind != 'inactive').lower()}\n"
                f"verified = {str(kind != 'unverified').lower()}\n"
                f"balances = {{ {', '.join(f'{a} = {q!r}' for a, q in held.items())} }}"
            )
            for asset, quantity in held.items():  # a loan: promised away from this address
                if float(quantity) >= 1 and rng.random() < 0.3:
                    lines.append(f'[[provisional_source]]\naddress = "{where}"')
                    to = rng.choice([treasury, *(f"user:{other}" for other in names)])
                    lines.append(promise(where, to, asset, "1", None))
                    break
    for _ in range(rng.randint(1, 5)):  # promises received, to an address or a username
        to = rng.choice([*owned, *(f"user:{name}" for name in names)])
        expiration = rng.choice((None, now + 86_400, now - 86_400))
        lines.append(promise(treasury, to, rng.choice(ASSETS), amount(rng), expiration))
    return "\n\n".join(lines) + "\n", names, [rule(rng) for _ in range(RULES)]


def promise(source: str, to: str, asset: str, quantity: str, expiration: int | None) -> str:
    """A seed's promise of ``quantity`` ``asset`` from ``source`` to an address or user."""
    text = (
        f'[[promise]]\nsource = "{source}"\ndestination = "{to}"\n'
        f'asset = "{asset}"\nquantity = "{quantity}"'
    )
    return text if expiration is None else f"{text}\nexpiration = {expiration}"


def rule(rng: random.Random) -> list[tuple[str, str]]:
    """A Tokenpass rule: 1 to 3 clauses on distinct assets, joined by AND or OR."""
    pairs: list[tuple[str, str]] = []
    for index, asset in enumerate(rng.sample(ASSETS, rng.randint(1, 3))):
        pairs += [(asset, amount(rng)), (f"op_{index}", rng.choice(OPERATORS))]
        if index:
            pairs.append((f"stackop_{index}", rng.choice(("AND", "OR"))))
    return pairs


class Later:
    """An ASGI app whose inner app is set once the sandbox it logs in with runs; it
    keeps uvicorn's event loop, where the balance source's client is closed."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        self.loop = asyncio.get_running_loop()
        await self.app(scope, receive, send)


async def page(request: Request) -> JSONResponse:
    return JSONResponse({"page": request.url.path})


def gated_app(
    url: str, rules: list[list[tuple[str, str]]], **login_options: Any
) -> tuple[Starlette, TokenpassBalances]:
    """The documented setup (docs/deploying.md), defaults everywhere: the login, and the gate
    over its balances."""
    login = TokenpassLogin(url, CLIENT, SECRET, **login_options)
    source = TokenpassBalances.for_gate(url, CLIENT, SECRET)
    gate = Gate(CachedBalances(source))
    guarded = {f"/r{index}": urlencode(pairs) for index, pairs in enumerate(rules)}
    app = Starlette(
        routes=[
            Mount("/auth", routes=login.routes),
            *(Route(path, page) for path in guarded),
        ],
        middleware=[
            Middleware(SessionMiddleware, secret_key=SESSION_SECRET),
            Middleware(TcaGateMiddleware, gate=gate, rules=guarded),
        ],
    )
    return app, source


@contextmanager
def running_world(
    number: int, **login_options: Any
) -> Iterator[tuple[Site, list[str], list[list[tuple[str, str]]]]]:
    later = Later()
    with serve(later) as app_url:
        seed, names, rules = world(number, app_url)
        clock = SettableClock()
        with running_sandbox(parse_seed(seed), clock=clock) as sandbox:
            later.app, source = gated_app(sandbox.url, rules, **login_options)
            try:
                yield Site(app_url, sandbox, clock), names, rules
            finally:
                if later.loop is not None:
                    asyncio.run_coroutine_threadsafe(source.aclose(), later.loop).result(10)


def tokenpass_allows(site: Site, username: str, pairs: list[tuple[str, str]]) -> bool:
    token = site.sandbox.access_token(username, ["user", "tca"])
    answer = site.sandbox.api("GET", f"tca/check/{username}", params=dict(pairs), oauth_token=token)
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert isinstance(result, bool)
    return result


@settings(max_examples=5, deadline=None)
@given(number=st.integers(min_value=0, max_value=2**32))
@example(number=0)
def test_the_default_gate_allows_exactly_when_tca_check_does(number: int) -> None:
    with running_world(number) as (site, names, rules):
        for name in names:
            with httpx2.Client() as browser:
                assert browser.get(consent(browser, site, name)).status_code == 303
                for index, pairs in enumerate(rules):
                    answer = browser.get(f"{site.app_url}/r{index}", headers=JSON)
                    assert answer.status_code in (200, 403), answer.text
                    expected = tokenpass_allows(site, name, pairs)
                    assert (answer.status_code == 200) == expected, (name, urlencode(pairs))


def test_a_login_without_private_balances_is_a_500_naming_the_scope_to_add(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The default gate cannot see what ``tca/check`` sees without ``private-balances``:
    it says so, rather than answer differently in silence."""
    world = running_world(0, scopes=["user", "tca"])
    with world as (site, names, _), httpx2.Client() as browser:
        server_log = logging.getLogger("uvicorn.error")  # configured by uvicorn on start
        server_log.addHandler(caplog.handler)
        try:
            assert browser.get(consent(browser, site, names[0])).status_code == 303
            answer = browser.get(f"{site.app_url}/r0", headers=JSON)
            deadline = time.monotonic() + 10  # uvicorn logs the error after the 500 is sent
            while FIX not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            server_log.removeHandler(caplog.handler)
    assert answer.status_code == 500
    assert FIX in caplog.text
