"""Tokenpass login parts: `next` checks, the user, configuration, session."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from typing import Any

import pytest
import redis.asyncio
from starlette.exceptions import HTTPException
from starlette.requests import Request

from tca_gate import TcaGateError
from tca_gate.login import (
    SESSION_KEY,
    LoginConfigError,
    LoginError,
    TokenpassLogin,
    TokenpassUser,
    access_token,
    current_user,
    require_user,
)
from tca_gate.login._next import safe_next
from tca_gate.login._session import MEMORY
from tca_gate.login._store import (
    LoginRecord,
    MemoryLoginStore,
    RedisLoginStore,
    new_session_id,
    record_key,
)
from tests.support.login import ALICE


@pytest.mark.parametrize("value", ["/", "/orders", "/a/b?c=d&e=%2F%2F#top", "/caf%C3%A9"])
def test_safe_next_keeps_paths_on_this_site(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "orders",
        "//evil.example/",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/ /evil.example",
        "/\x00",
        "/\x7f",
        "https://evil.example/",
        "javascript:alert(1)",
        "http:/evil.example",
    ],
)
def test_safe_next_refuses_anything_that_could_leave_the_site(value: str) -> None:
    with pytest.raises(LoginError) as caught:
        safe_next(value)
    assert (caught.value.code, caught.value.status) == ("invalid_next", 400)
    assert repr(value) in caught.value.description


def test_user_reads_the_oauth_user_answer_and_round_trips() -> None:
    user = TokenpassUser.from_json({**ALICE, "id": 42, "extra": "ignored"})
    assert user == TokenpassUser("42", "alice", "alice@example.com", "Alice", True)
    assert TokenpassUser.from_json(user.to_json()) == user
    assert TokenpassUser.from_json({**ALICE, "email": None, "name": None}).name is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "'id'"),
        ({"id": True}, "'id'"),
        ({"id": ""}, "'id'"),
        ({"username": ""}, "'username'"),
        ({"username": 5}, "'username'"),
        ({"email_is_confirmed": 1}, "'email_is_confirmed'"),
        ({"email_is_confirmed": None}, "'email_is_confirmed'"),
        ({"email": ["a"]}, "'email'"),
        ({"name": 3}, "'name'"),
    ],
)
def test_user_refuses_a_bad_field_by_name(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        TokenpassUser.from_json({**ALICE, **change})


def test_user_must_be_an_object() -> None:
    with pytest.raises(ValueError, match="JSON object, not list"):
        TokenpassUser.from_json([ALICE])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "tokenpass.example"}, "base_url must be an absolute http"),
        ({"base_url": "ftp://tokenpass.example"}, "base_url must be an absolute http"),
        ({"base_url": "https://tokenpass.example/?a=1"}, "base_url must not carry a query"),
        ({"redirect_uri": "/auth/callback"}, "redirect_uri must be an absolute http"),
        ({"client_id": ""}, "client_id must be a non-empty string"),
        ({"client_secret": ""}, "client_secret must be a non-empty string"),
        ({"scopes": "user,tca"}, "not the string 'user,tca'"),
        ({"scopes": ()}, "scopes must be one or more names"),
        ({"scopes": ("user", "tca,private-balances")}, "bad: ['tca,private-balances']"),
        ({"scopes": ("user", "a b")}, "bad: ['a b']"),
        ({"default_next": "https://evil.example/"}, "default_next: 'next' must be a path"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"max_age": 0}, "max_age must be a positive number"),
        ({"store": MemoryLoginStore()}, "leave store=None to keep logins in memory"),
        ({"store": {}}, "store must be a LoginStore"),
        ({"scopes": ("tca", "private-balances")}, "scopes must include 'user'"),
    ],
)
def test_configuration_errors_say_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "base_url": "https://tokenpass.example",
        "client_id": "app",
        "client_secret": "secret",
        **kwargs,
    }
    with pytest.raises(LoginConfigError, match=re.escape(message)) as caught:
        TokenpassLogin(**arguments)
    assert isinstance(caught.value, TcaGateError)
    assert isinstance(caught.value, ValueError)


def test_the_client_secret_is_not_in_the_repr() -> None:
    login = TokenpassLogin("https://tokenpass.example", "app", "s3cret-value")
    assert "s3cret-value" not in repr(login)
    assert "s3cret-value" not in repr(login.routes)


def _request(session: dict[str, Any] | None) -> Request:
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/", "headers": []}
    if session is not None:
        scope["session"] = session
    return Request(scope)


def _stored(expires_in: float, token: str = "tok") -> dict[str, Any]:
    """A session naming a login kept in the in-memory store for ``expires_in`` seconds."""
    sid = new_session_id()
    record = LoginRecord(
        TokenpassUser.from_json(ALICE), token, "user,tca", time.time() + expires_in
    )
    asyncio.run(MEMORY.save(sid, record))
    return {SESSION_KEY: {"sid": sid}}


def test_readers_give_the_user_and_token_of_an_active_login() -> None:
    request = _request(_stored(60))
    assert current_user(request) == TokenpassUser.from_json(ALICE)
    assert access_token(request) == "tok"
    assert asyncio.run(require_user(request)) == TokenpassUser.from_json(ALICE)


def test_the_session_names_the_login_by_a_random_id_only() -> None:
    session = _stored(60, token="the-token")
    ((_, value),) = session.items()
    assert set(value) == {"sid"}
    assert "the-token" not in repr(session)
    assert len(value["sid"]) >= 43  # 256 random bits


@pytest.mark.parametrize(
    "session",
    [
        dict,
        lambda: {SESSION_KEY: "alice"},
        lambda: {SESSION_KEY: {"sid": ""}},
        lambda: {SESSION_KEY: {"sid": 7}},
        lambda: {SESSION_KEY: {"sid": "never-issued"}},
        lambda: _stored(-1),
        # a login as older versions kept it, token and all, in the cookie: no longer counts
        lambda: {
            SESSION_KEY: {"user": ALICE, "access_token": "tok", "scope": "user", "expires_at": None}
        },
    ],
)
def test_no_login_when_missing_expired_or_malformed(session: Any) -> None:
    request = _request(session())
    assert current_user(request) is None
    assert access_token(request) is None
    with pytest.raises(HTTPException) as caught:
        asyncio.run(require_user(request))
    assert caught.value.status_code == 401


def test_a_login_kept_in_redis_is_not_read_synchronously_and_the_error_says_what_to_use() -> None:
    request = _request({SESSION_KEY: {"sid": new_session_id(), "kept": "shared"}})
    with pytest.raises(LoginConfigError, match=r"identity=login\.identity\(\)"):
        current_user(request)


def test_readers_need_the_session_middleware() -> None:
    with pytest.raises(LoginConfigError, match="SessionMiddleware"):
        current_user(_request(None))


@pytest.mark.parametrize(
    ("scopes", "scope", "missing"),
    [
        (("user", "tca"), "protected", "'private-balances'"),
        (("user",), "protected", "'tca' and 'private-balances'"),
        (("user", "private-balances"), "public", "'tca'"),
    ],
)
def test_the_gate_identity_names_the_scope_the_login_lacks(
    scopes: tuple[str, ...], scope: Any, missing: str
) -> None:
    login = TokenpassLogin("https://tokenpass.example", "app", "secret", scopes=scopes)
    with pytest.raises(LoginConfigError, match=f"needs the {missing} scope: add it"):
        login.identity(scope)


def test_the_default_scopes_let_the_gate_count_private_addresses() -> None:
    login = TokenpassLogin("https://tokenpass.example", "app", "secret")
    assert login.scopes == ("user", "tca", "private-balances")
    assert callable(login.identity("protected"))


def _record(expires_in: float = 60) -> LoginRecord:
    return LoginRecord(TokenpassUser.from_json(ALICE), "tok", "user,tca", time.time() + expires_in)


def test_the_memory_store_drops_expired_logins_then_the_oldest_when_full() -> None:
    store = MemoryLoginStore(max_logins=10)
    asyncio.run(store.save("expired", _record(-1)))
    for number in range(9):
        store.put(f"sid-{number}", _record())
    store.put("one-more", _record())  # full: the expired one makes room
    assert [store.peek(f"sid-{number}") is not None for number in range(9)] == [True] * 9
    store.put("and-another", _record())  # full of active ones: the oldest tenth ends
    assert store.peek("sid-0") is None
    assert store.peek("and-another") is not None
    assert "tok" not in repr(store.peek("and-another"))


def test_the_redis_store_fails_closed(redis_url: str, redis_client: Any) -> None:
    """A record that is not one reads as no login; a Redis that cannot be reached is a
    503 LoginError naming the store, never a login."""

    async def go() -> tuple[LoginRecord | None, LoginRecord | None]:
        client = redis.asyncio.Redis.from_url(redis_url)
        store = RedisLoginStore(client)
        try:
            await store.save("good", _record())
            redis_client.set(store.prefix + record_key("junk"), b"{not json")
            return await store.load("good"), await store.load("junk")
        finally:
            await client.aclose()

    good, junk = asyncio.run(go())
    assert good is not None
    assert (good.user.username, good.access_token) == ("alice", "tok")
    assert junk is None

    async def unreachable() -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        client = redis.asyncio.Redis(host="127.0.0.1", port=port)
        try:
            await RedisLoginStore(client, timeout=0.5).load("any")
        finally:
            await client.aclose()

    with pytest.raises(LoginError) as caught:
        asyncio.run(unreachable())
    assert (caught.value.status, caught.value.code) == (503, "login_store_unavailable")


def test_a_store_failing_at_logout_leaves_the_session_its_login() -> None:
    """Logout deletes the record before it forgets the session's id: if the store fails
    (a 503), the id stays, so the user can log out again, and no record is left that a
    copied cookie could still open while the browser believes it logged out."""

    class FailingStore(RedisLoginStore):
        def __init__(self) -> None:
            pass

        async def delete(self, session_id: str) -> LoginRecord | None:
            raise LoginError("login_store_unavailable", "the store is down", 503)

    from tca_gate.login import TokenpassLogin
    from tca_gate.login._session import SESSION_KEY, name_login

    login = TokenpassLogin("https://tokenpass.example", "app", "app-secret", store=FailingStore())
    session: dict[str, Any] = {}
    name_login(session, "sid-1", shared=True)
    request = Request({"type": "http", "session": session, "headers": []})
    with pytest.raises(LoginError) as caught:
        asyncio.run(login._end_login(request))
    assert caught.value.status == 503
    assert session[SESSION_KEY]["sid"] == "sid-1"
