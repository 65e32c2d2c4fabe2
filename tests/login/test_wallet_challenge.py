"""The life of a wallet sign-in challenge, in process: one session, one site, minutes, once.

Each test drives ``WalletLogin``'s public methods with a Starlette request over a plain
session dict and a clock the test moves; signatures come from the signing layer's own
``sign_message`` (the served and browser tests use an independent signer)."""

from __future__ import annotations

import asyncio
import copy
import inspect
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
import redis
import redis.asyncio
from starlette.requests import Request

from tca_gate.balances import Holder
from tca_gate.errors import LoginConfigError, LoginError
from tca_gate.login.wallet import WALLET_KEY, RedisWalletStore, WalletLogin
from tca_gate.signing.bitcoin import address_from_private_key, sign_message
from tca_gate.signing.replay import AsyncRedisReplayStore, MemoryReplayStore
from tests.support.clocks import ManualClock

T = TypeVar("T")
KEY = (0xA11CE).to_bytes(32, "big")
OTHER_KEY = (0xB0B).to_bytes(32, "big")
ADDRESS = address_from_private_key(KEY)
SITE = "https://shop.example"
START = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC


def request(session: dict[str, Any], host: str = "shop.example", scheme: str = "https") -> Request:
    """A request to ``host`` carrying ``session`` (as SessionMiddleware would put it)."""
    port = 443 if scheme == "https" else 80
    return Request(
        {
            "type": "http",
            "method": "POST",
            "scheme": scheme,
            "server": (host, port),
            "path": "/wallet/verify",
            "query_string": b"",
            "headers": [(b"host", host.encode())],
            "session": session,
        }
    )


def run(step: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(step)


def refusal(error: pytest.ExceptionInfo[LoginError]) -> tuple[int, str]:
    return error.value.status, error.value.code


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def wallet(clock: ManualClock) -> WalletLogin:
    return WalletLogin(origin=SITE, clock=clock)


def test_a_signed_challenge_signs_in_and_the_gate_sees_the_address(
    wallet: WalletLogin,
) -> None:
    session: dict[str, Any] = {}
    challenge = wallet.challenge(request(session))
    assert run(wallet.sign_in(request(session), ADDRESS, sign_message(KEY, challenge.message)))
    assert run(wallet.address(request(session))) == ADDRESS
    assert wallet.identity()(request(session)) == Holder.addresses([ADDRESS])
    # the cookie names the sign-in by a random id only: no address, no signature
    assert set(session[WALLET_KEY]) == {"sid"}
    assert ADDRESS not in repr(session)


def test_the_text_names_the_site_and_the_times(wallet: WalletLogin) -> None:
    challenge = wallet.challenge(request({}))
    assert challenge.message == (
        f"Sign in to https://shop.example with this Bitcoin address. Challenge "
        f"{challenge.nonce}, issued 2027-01-15 08:00:00 UTC, valid until 2027-01-15 "
        f"08:05:00 UTC."
    )
    assert "\n" not in challenge.message
    assert challenge.nonce != wallet.challenge(request({})).nonce


def test_a_challenge_signs_in_once(wallet: WalletLogin) -> None:
    session: dict[str, Any] = {}
    challenge = wallet.challenge(request(session))
    signature = sign_message(KEY, challenge.message)
    copied_cookie = copy.deepcopy(session)  # a copy of the cookie, challenge and all
    run(wallet.sign_in(request(session), ADDRESS, signature))

    with pytest.raises(LoginError) as again:
        run(wallet.sign_in(request(session), ADDRESS, signature))
    assert refusal(again) == (400, "no_challenge")

    with pytest.raises(LoginError) as replayed:
        run(wallet.sign_in(request(copied_cookie), ADDRESS, signature))
    assert refusal(replayed) == (403, "challenge_used")
    assert WALLET_KEY not in copied_cookie


def test_a_challenge_expires(wallet: WalletLogin, clock: ManualClock) -> None:
    session: dict[str, Any] = {}
    signature = sign_message(KEY, wallet.challenge(request(session)).message)
    clock.now += 300
    with pytest.raises(LoginError) as late:
        run(wallet.sign_in(request(session), ADDRESS, signature))
    assert refusal(late) == (400, "challenge_expired")
    assert "2027-01-15 08:05:00 UTC" in late.value.description

    signature = sign_message(KEY, wallet.challenge(request(session)).message)
    clock.now += 299
    assert run(wallet.sign_in(request(session), ADDRESS, signature)) == ADDRESS


def test_a_signature_counts_only_in_the_session_it_was_shown_to(
    wallet: WalletLogin,
) -> None:
    mine: dict[str, Any] = {}
    signature = sign_message(KEY, wallet.challenge(request(mine)).message)

    with pytest.raises(LoginError) as no_challenge:
        run(wallet.sign_in(request({}), ADDRESS, signature))
    assert refusal(no_challenge) == (400, "no_challenge")

    theirs: dict[str, Any] = {}
    wallet.challenge(request(theirs))
    with pytest.raises(LoginError) as other_session:
        run(wallet.sign_in(request(theirs), ADDRESS, signature))
    assert refusal(other_session) == (403, "signature_mismatch")
    assert WALLET_KEY not in theirs
    assert run(wallet.sign_in(request(mine), ADDRESS, signature)) == ADDRESS


def test_a_challenge_counts_only_on_the_site_it_names(clock: ManualClock) -> None:
    by_request = WalletLogin(clock=clock)  # the origin is the request's (loopback only)
    session: dict[str, Any] = {}
    challenge = by_request.challenge(request(session, "localhost"))
    assert challenge.origin == "https://localhost"
    signature = sign_message(KEY, challenge.message)
    with pytest.raises(LoginError) as elsewhere:
        run(by_request.sign_in(request(session, "127.0.0.1"), ADDRESS, signature))
    assert refusal(elsewhere) == (400, "wrong_origin")
    assert "https://localhost" in elsewhere.value.description
    with pytest.raises(LoginError) as downgraded:
        run(by_request.sign_in(request(session, "localhost", scheme="http"), ADDRESS, signature))
    assert refusal(downgraded) == (400, "wrong_origin")


def test_text_signed_for_another_site_does_not_sign_in_here(wallet: WalletLogin) -> None:
    session: dict[str, Any] = {}
    challenge = wallet.challenge(request(session))
    for_another_site = challenge.message.replace(SITE, "https://other.example")
    with pytest.raises(LoginError) as refused:
        run(wallet.sign_in(request(session), ADDRESS, sign_message(KEY, for_another_site)))
    assert refusal(refused) == (403, "signature_mismatch")


def test_a_signature_by_another_key_or_of_another_text_is_refused(
    wallet: WalletLogin,
) -> None:
    session: dict[str, Any] = {}
    message = wallet.challenge(request(session)).message
    other_address = address_from_private_key(OTHER_KEY)
    uncompressed = address_from_private_key(KEY, compressed=False)
    attempts = [
        (ADDRESS, sign_message(OTHER_KEY, message)),  # another key
        (ADDRESS, sign_message(KEY, message + " ")),  # another text
        (other_address, sign_message(KEY, message)),  # the wrong address
        (uncompressed, sign_message(KEY, message)),  # the same key, the other address
    ]
    for address, signature in attempts:
        with pytest.raises(LoginError) as refused:
            run(wallet.sign_in(request(session), address, signature))
        assert refusal(refused) == (403, "signature_mismatch")
    # refusals leave the challenge for a corrected try
    assert run(wallet.sign_in(request(session), ADDRESS, sign_message(KEY, message))) == ADDRESS


@pytest.mark.parametrize(
    ("address", "signature", "code"),
    [
        ("", "good", "invalid_address"),
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "good", "invalid_address"),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "good", "invalid_address"),
        (ADDRESS[:-1] + ("a" if ADDRESS[-1] != "a" else "b"), "good", "invalid_address"),
        (None, "good", "invalid_address"),
        (12345, "good", "invalid_address"),
        ("ok", "", "invalid_signature"),
        ("ok", "not base64 at all!", "invalid_signature"),
        ("ok", "A" * 88, "invalid_signature"),
        ("ok", "QUJD", "invalid_signature"),
        ("ok", None, "invalid_signature"),
        ("ok", "x" * 10_000, "invalid_signature"),
    ],
)
def test_malformed_input_says_what_is_wrong(
    wallet: WalletLogin, address: object, signature: object, code: str
) -> None:
    session: dict[str, Any] = {}
    message = wallet.challenge(request(session)).message
    address = ADDRESS if address == "ok" else address
    signature = sign_message(KEY, message) if signature == "good" else signature
    with pytest.raises(LoginError) as refused:
        run(wallet.sign_in(request(session), address, signature))
    assert refusal(refused) == (400, code)


def test_pasted_whitespace_around_the_fields_is_forgiven(wallet: WalletLogin) -> None:
    session: dict[str, Any] = {}
    signature = sign_message(KEY, wallet.challenge(request(session)).message)
    assert run(wallet.sign_in(request(session), f" {ADDRESS}\n", f"\t{signature} ")) == ADDRESS


def test_the_sign_in_ends_after_max_age_and_on_sign_out(clock: ManualClock) -> None:
    wallet = WalletLogin(origin=SITE, clock=clock, max_age=3600)
    session: dict[str, Any] = {}
    signature = sign_message(KEY, wallet.challenge(request(session)).message)
    run(wallet.sign_in(request(session), ADDRESS, signature))
    clock.now += 3599
    assert run(wallet.address(request(session))) == ADDRESS
    clock.now += 1
    assert run(wallet.address(request(session))) is None
    assert wallet.identity()(request(session)) is None

    signature = sign_message(KEY, wallet.challenge(request(session)).message)
    run(wallet.sign_in(request(session), ADDRESS, signature))
    kept = copy.deepcopy(session)
    run(wallet.sign_out(request(session)))
    assert WALLET_KEY not in session
    assert run(wallet.address(request(kept))) is None  # the old cookie opens nothing


def test_a_replay_store_that_fails_refuses_the_sign_in(clock: ManualClock) -> None:
    class Broken:
        def claim(self, key: str, ttl: float) -> bool:
            raise ConnectionError("down")

    wallet = WalletLogin(origin=SITE, clock=clock, replay_store=Broken())
    session: dict[str, Any] = {}
    signature = sign_message(KEY, wallet.challenge(request(session)).message)
    with pytest.raises(LoginError) as refused:
        run(wallet.sign_in(request(session), ADDRESS, signature))
    assert refusal(refused) == (503, "challenge_store_unavailable")
    assert WALLET_KEY not in session


def test_workers_sharing_redis_accept_a_challenge_once_and_share_the_sign_in(
    redis_url: str, redis_client: redis.Redis
) -> None:
    asyncio.run(two_workers(redis_url))


async def two_workers(redis_url: str) -> None:
    clients = [redis.asyncio.Redis.from_url(redis_url) for _ in range(2)]
    first, second = (
        WalletLogin(
            origin=SITE,
            replay_store=AsyncRedisReplayStore(client),
            store=RedisWalletStore(client),
        )
        for client in clients
    )
    session: dict[str, Any] = {}
    signature = sign_message(KEY, first.challenge(request(session)).message)
    copied_cookie = copy.deepcopy(session)
    try:
        assert await first.sign_in(request(session), ADDRESS, signature) == ADDRESS
        with pytest.raises(LoginError) as replayed:
            await second.sign_in(request(copied_cookie), ADDRESS, signature)
        assert refusal(replayed) == (403, "challenge_used")

        assert await second.address(request(session)) == ADDRESS
        resolved = second.identity()(request(session))
        assert inspect.isawaitable(resolved)  # a shared store is read over the network
        assert await resolved == Holder.addresses([ADDRESS])
        stored = await clients[0].keys("tca_gate:wallet:*")
        assert len(stored) == 1
        assert session[WALLET_KEY]["sid"].encode() not in stored[0]  # keyed by its digest

        kept = copy.deepcopy(session)
        await second.sign_out(request(session))
        assert await first.address(request(kept)) is None  # ended on every worker
        assert await clients[0].keys("tca_gate:wallet:*") == []
    finally:
        for client in clients:
            await client.aclose()


def test_a_garbled_stored_sign_in_counts_for_nobody(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async def garbled() -> str | None:
        client = redis.asyncio.Redis.from_url(redis_url)
        wallet = WalletLogin(origin=SITE, store=RedisWalletStore(client))
        session: dict[str, Any] = {}
        signature = sign_message(KEY, wallet.challenge(request(session)).message)
        try:
            await wallet.sign_in(request(session), ADDRESS, signature)
            (key,) = await client.keys("tca_gate:wallet:*")
            await client.set(key, b'{"address": 7}')
            return await wallet.address(request(session))
        finally:
            await client.aclose()

    assert asyncio.run(garbled()) is None


def test_a_sign_in_store_that_fails_refuses_with_a_503() -> None:
    async def unreachable() -> tuple[LoginError, dict[str, Any]]:
        client = redis.asyncio.Redis.from_url("redis://127.0.0.1:1")
        wallet = WalletLogin(origin=SITE, store=RedisWalletStore(client, timeout=0.5))
        session: dict[str, Any] = {}
        signature = sign_message(KEY, wallet.challenge(request(session)).message)
        try:
            await wallet.sign_in(request(session), ADDRESS, signature)
        except LoginError as error:
            return error, session
        finally:
            await client.aclose()
        raise AssertionError("signed in without a store")

    error, session = asyncio.run(unreachable())
    assert (error.status, error.code) == (503, "login_store_unavailable")
    assert WALLET_KEY not in session


def test_the_log_says_who_and_why_never_the_signature(
    wallet: WalletLogin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tca_gate.login")
    session: dict[str, Any] = {}
    signature = sign_message(KEY, wallet.challenge(request(session)).message)
    with pytest.raises(LoginError):
        run(wallet.sign_in(request(session), ADDRESS, sign_message(OTHER_KEY, "x")))
    run(wallet.sign_in(request(session), ADDRESS, signature))
    logged = [record.getMessage() for record in caplog.records]
    assert logged == [
        "wallet sign-in refused: signature_mismatch",
        f"wallet sign-in: {ADDRESS}",
    ]
    assert all(signature not in text for text in caplog.text.splitlines())


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"origin": "shop.example"}, "origin"),
        ({"origin": "ftp://shop.example"}, "origin"),
        ({"origin": "https://shop.example/path"}, "origin"),
        ({"origin": "https://shop.example?x=1"}, "origin"),
        ({"challenge_ttl": 0}, "challenge_ttl"),
        ({"challenge_ttl": True}, "challenge_ttl"),
        ({"max_age": -1}, "max_age"),
        ({"default_next": "https://evil.example/"}, "default_next"),
        ({"replay_store": object()}, "replay_store"),
        ({"store": object()}, "store"),
    ],
)
def test_a_wrong_setting_is_named_at_start_up(options: dict[str, Any], named: str) -> None:
    with pytest.raises(LoginConfigError, match=named):
        WalletLogin(**options)


def test_a_configured_origin_is_kept_without_its_trailing_slash() -> None:
    assert WalletLogin(origin="https://shop.example/").origin == "https://shop.example"
    memory = MemoryReplayStore()
    assert WalletLogin(replay_store=memory).origin is None
    with pytest.raises(LoginConfigError, match="redis"):
        RedisWalletStore(object())  # type: ignore[arg-type]
