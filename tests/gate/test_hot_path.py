"""The gate's fast path keeps the slow path's guarantees: what it shares between requests
cannot be changed by one of them, an app's own cache headers never survive on a gated
page, and nothing a resolver or a wrapper source answers lets a request skip the rule."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Mapping
from typing import Any

import pytest
from starlette.requests import HTTPConnection
from starlette.types import Message, Receive, Scope, Send

from tca_gate import CachedBalances, Gate, Holder, StaticBalances, compile_rule
from tca_gate.gate import Outcome, TcaGateMiddleware, Verdict, header_identity

SAT = 100_000_000
HOLDINGS = StaticBalances(
    {
        "users": {
            "alice": {"public": {"TOKENLY": 2 * SAT}},
            "bob": {"public": {"TOKENLY": 3 * SAT}},
        }
    }
)
RULE = compile_rule("TOKENLY >= 1")


def scope_for(user: str | None, path: str = "/members") -> dict[str, Any]:
    headers = [(b"x-user", user.encode())] if user else []
    return {"type": "http", "method": "GET", "path": path, "headers": headers}


async def call(app: Any, scope: dict[str, Any]) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def test_the_scopes_a_rule_grants_are_shared_and_so_cannot_be_changed() -> None:
    seen: list[tuple[str, ...]] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        auth = scope["auth"]
        seen.append(tuple(auth.scopes))
        with pytest.raises(AttributeError, match="shared by every request"):
            auth.scopes = (*auth.scopes, "admin")
        with pytest.raises(AttributeError):
            auth.scopes.append("admin")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    gate = Gate(CachedBalances(HOLDINGS), identity=header_identity("x-user"))
    app = TcaGateMiddleware(endpoint, gate=gate, rules={"/members": {"rule": RULE, "name": "m"}})
    for user in ("alice", "bob", "alice"):
        asyncio.run(call(app, scope_for(user)))
    assert seen == [("tca", "tca:m")] * 3


@pytest.mark.parametrize(
    "headers",
    [
        [(b"Cache-Control", b"public, max-age=600"), (b"content-type", b"text/plain")],
        [(b"CACHE-CONTROL", b"public"), (b"Vary", b"Origin"), (b"x-app", b"1")],
    ],
)
def test_an_apps_own_cache_headers_in_any_case_never_survive_on_a_gated_page(
    headers: list[tuple[bytes, bytes]],
) -> None:
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        generated = (pair for pair in headers)  # headers may be any iterable
        await send({"type": "http.response.start", "status": 200, "headers": generated})
        await send({"type": "http.response.body", "body": b""})

    gate = Gate(CachedBalances(HOLDINGS), identity=header_identity("x-user"))
    app = TcaGateMiddleware(endpoint, gate=gate, rules={"/members": RULE})
    for _ in range(2):  # a miss, then a hit on the fast path
        start = asyncio.run(call(app, scope_for("alice")))[0]
        sent = [(name.lower(), value) for name, value in start["headers"]]
        assert [value for name, value in sent if name == b"cache-control"] == [b"private, no-store"]
        kept = [(n.lower(), v) for n, v in headers if n.lower() not in (b"cache-control", b"vary")]
        assert all(pair in sent for pair in kept)  # the app's other headers stay
        vary = b",".join(value for name, value in sent if name == b"vary").lower()
        wanted = (b"accept", b"cookie", b"authorization")
        assert all(part in vary for part in wanted)
        assert (b"origin" in vary) is (b"Origin" in dict(headers).values())


def test_a_repeated_identity_header_is_no_identity() -> None:
    resolve = header_identity("x-user")
    twice = {"type": "http", "headers": [(b"x-user", b"alice"), (b"x-user", b"bob")]}
    assert resolve(HTTPConnection(twice)) is None
    assert resolve(HTTPConnection(scope_for("alice"))) == Holder.user("alice")
    assert resolve(HTTPConnection(scope_for("bob"))) == Holder.user("bob")
    assert resolve(HTTPConnection({"type": "http", "headers": [(b"x-user", b"  ")]})) is None


def test_a_resolver_answering_a_verdict_is_refused_not_obeyed() -> None:
    forged = Verdict(Outcome.ALLOWED, RULE, None, Holder.user("mallory"), {"TOKENLY": SAT})
    gate = Gate(CachedBalances(HOLDINGS), identity=lambda conn: forged)  # type: ignore[arg-type, return-value]
    verdict = asyncio.run(gate.check(HTTPConnection(scope_for(None)), RULE))
    assert verdict is not forged
    assert verdict.outcome is Outcome.IDENTITY_ERROR


def test_a_wrapper_source_is_asked_even_when_it_passes_attributes_on() -> None:
    """A source wrapping a cache, forwarding what it lacks: the gate must not reach past
    it to the cache's own fast path."""

    class Banned:
        def __init__(self, inner: CachedBalances) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        async def balances(self, holder: Holder) -> Mapping[str, int]:
            if holder.value == "alice":
                return {}
            return await self.inner.balances(holder)

    cache = CachedBalances(HOLDINGS)
    asyncio.run(cache.balances(Holder.user("alice")))  # a fresh answer in the inner cache
    gate = Gate(Banned(cache), identity=header_identity("x-user"))
    conn = HTTPConnection(scope_for("alice"))
    assert asyncio.run(gate.check(conn, RULE)).outcome is Outcome.INSUFFICIENT_TOKENS


def test_holders_take_str_subclasses_as_their_text() -> None:
    class Name(enum.StrEnum):
        ALICE = "alice"

    holder = Holder.user(Name.ALICE)
    assert holder == Holder.user("alice")
    assert hash(holder) == hash(Holder.user("alice"))
    assert type(holder.value) is str
    assert Holder.token("t0ken", owner=Name.ALICE).owner.__class__ is str


def test_a_cache_with_the_shortest_ttl_still_builds_and_answers() -> None:
    cache = CachedBalances(HOLDINGS, ttl=1e-7, negative_ttl=0)
    assert dict(asyncio.run(cache.balances(Holder.user("bob")))) == {"TOKENLY": 3 * SAT}
    assert cache.peek(Holder.user("bob")) is None  # already past its TTL
