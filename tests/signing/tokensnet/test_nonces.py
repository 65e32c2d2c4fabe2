"""Nonces: strictly increasing per key under concurrent calls and retries, and never
reused by a restarted process that keeps them in a file."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest

from tca_gate.errors import InvalidArgumentError
from tca_gate.signing.tokensnet._scheme import signing_headers
from tca_gate.tokensnet import (
    AsyncTokensNetClient,
    FileNonces,
    MemoryNonces,
    NonceTooLowError,
    RetryPolicy,
    TokensNetClient,
    TokensNetRateLimitError,
)
from tca_gate.tokensnet.testing import TokensNetEmulator
from tests.support.servers import serve

SECRETS = {
    "sync-key": "s1",
    "async-key": "s2",
    "file-key": "s3",
    "retry-key": "s4",
    "low-key": "s5",
    "official-key": "s6",
    "migrated-key": "s7",
}
FAST = RetryPolicy(retries=3, wait_initial=0, wait_jitter=0)


@pytest.fixture(scope="module")
def emulator() -> TokensNetEmulator:
    return TokensNetEmulator(SECRETS)


@pytest.fixture(scope="module")
def url(emulator: TokensNetEmulator) -> Iterator[str]:
    with serve(emulator) as base_url:
        yield base_url


def strictly_increasing(values: list[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))


def test_many_threads_on_one_sync_client_all_accepted(
    url: str, emulator: TokensNetEmulator
) -> None:
    with (
        TokensNetClient("sync-key", SECRETS["sync-key"], base_url=url, nonce_retries=0) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        balances = list(pool.map(lambda _: client.balance("btc"), range(40)))
    assert len(balances) == 40
    accepted = emulator.accepted_nonces["sync-key"]
    assert len(accepted) == 40
    assert strictly_increasing(accepted)


def test_many_tasks_on_one_async_client_all_accepted(url: str, emulator: TokensNetEmulator) -> None:
    async def gather() -> list[object]:
        async with AsyncTokensNetClient(
            "async-key", SECRETS["async-key"], base_url=url, nonce_retries=0
        ) as client:
            return list(await asyncio.gather(*(client.orders() for _ in range(40))))

    assert len(asyncio.run(gather())) == 40
    accepted = emulator.accepted_nonces["async-key"]
    assert len(accepted) == 40
    assert strictly_increasing(accepted)


def test_a_new_client_on_the_same_nonce_file_never_reuses_one(
    url: str, emulator: TokensNetEmulator, tmp_path: Path
) -> None:
    """The clock is frozen, so only the file keeps the second client above the first."""
    path = tmp_path / "tokensnet.nonce"

    def frozen() -> int:
        return 1000

    with TokensNetClient(
        "file-key", SECRETS["file-key"], base_url=url, nonces=FileNonces(path, clock=frozen)
    ) as first:
        first.balance("btc")
        first.orders()
    assert path.read_text() == "1001\n"
    with TokensNetClient(
        "file-key", SECRETS["file-key"], base_url=url, nonces=FileNonces(path, clock=frozen)
    ) as restarted:
        restarted.balance("btc")
    assert emulator.accepted_nonces["file-key"] == [1000, 1001, 1002]
    assert FileNonces(path).last() == 1002


def test_file_nonces_from_many_threads_and_two_stores_never_repeat(tmp_path: Path) -> None:
    path = tmp_path / "shared.nonce"
    stores = [FileNonces(path, clock=lambda: 0), FileNonces(path, clock=lambda: 0)]
    seen: list[int] = []
    lock = threading.Lock()

    def draw(index: int) -> None:
        nonce = stores[index % 2].next_nonce()
        with lock:
            seen.append(nonce)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(draw, range(60)))
    assert sorted(seen) == list(range(60))


def test_a_file_that_is_not_a_nonce_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.nonce"
    path.write_text("twelve\n")
    with pytest.raises(InvalidArgumentError, match="should hold the last nonce"):
        FileNonces(path).next_nonce()
    assert path.read_text() == "twelve\n"


def test_memory_nonces_follow_the_clock_and_never_repeat() -> None:
    ticks = iter([50, 50, 10, 80])
    nonces = MemoryNonces(clock=lambda: next(ticks))
    assert [nonces.next_nonce() for _ in range(4)] == [50, 51, 52, 80]


def test_each_retry_is_signed_with_a_fresh_larger_nonce(
    url: str, emulator: TokensNetEmulator
) -> None:
    with TokensNetClient("retry-key", SECRETS["retry-key"], base_url=url, retries=FAST) as client:
        emulator.rate_limit(2)
        assert client.balance("btc").currency == "BTC"
        emulator.rate_limit(2)
        client.orders()
    accepted = emulator.accepted_nonces["retry-key"]
    assert len(accepted) == 2
    assert strictly_increasing(accepted)


def test_a_post_is_not_retried_on_429(url: str, emulator: TokensNetEmulator) -> None:
    with TokensNetClient("retry-key", SECRETS["retry-key"], base_url=url, retries=FAST) as client:
        emulator.rate_limit(1)
        with pytest.raises(TokensNetRateLimitError):
            client.place_limit_order("btcusdt", "buy", "1", "2")
        emulator.rate_limit(0)


class Replaying:
    """A broken source: hands out a nonce the server has seen, then fresh ones."""

    def __init__(self, first: int) -> None:
        self.sequence = [first]
        self.fresh = MemoryNonces()

    def next_nonce(self) -> int:
        return self.sequence.pop() if self.sequence else self.fresh.next_nonce()


def test_a_nonce_refused_as_too_low_is_signed_again_even_for_a_post(
    url: str, emulator: TokensNetEmulator
) -> None:
    with TokensNetClient("low-key", SECRETS["low-key"], base_url=url) as client:
        client.balance("btc")
    last = emulator.accepted_nonces["low-key"][-1]
    with TokensNetClient(
        "low-key", SECRETS["low-key"], base_url=url, nonces=Replaying(last)
    ) as stale:
        placed = stale.place_limit_order("btcusdt", "buy", "1", "2")
    assert placed.order_id in emulator.orders
    assert emulator.accepted_nonces["low-key"][-1] > last


def test_with_no_nonce_retries_error_111_is_raised(url: str, emulator: TokensNetEmulator) -> None:
    with TokensNetClient("low-key", SECRETS["low-key"], base_url=url) as client:
        client.balance("btc")
    last = emulator.accepted_nonces["low-key"][-1]
    with (
        TokensNetClient(
            "low-key", SECRETS["low-key"], base_url=url, nonces=Replaying(last), nonce_retries=0
        ) as stale,
        pytest.raises(NonceTooLowError) as raised,
    ):
        stale.balance("btc")
    assert (raised.value.error_code, raised.value.status) == (111, 401)
    assert raised.value.reason == "Provided nonce is less or equal to the last nonce"


# -- the official clients' nonce scale (issue 10) -----------------------------------------


def official_python_get(url: str, path: str, api_key: str, secret: str) -> httpx2.Response:
    """A signed GET built as jl2035/tokens-client-python builds it: ``int(time.time() *
    10**7)`` as the nonce, uppercase hex HMAC-SHA256 of nonce and key, headers KEY, NONCE
    and SIGNATURE."""
    nonce = int(time.time() * 10**7)
    message = f"{nonce}{api_key}".encode()
    signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().upper()
    headers = {"KEY": api_key, "NONCE": str(nonce), "SIGNATURE": signature}
    return httpx2.get(f"{url}{path}", headers=headers)


class OfficialNode:
    """Nonces as the official Node client makes them: ``Date.now()`` then a 4-digit counter
    that starts again at each new millisecond."""

    def __init__(self) -> None:
        self.last_ms = -1
        self.counter = 0

    def nonce(self) -> int:
        now_ms = time.time_ns() // 1_000_000
        self.counter = self.counter + 1 if now_ms == self.last_ms else 0
        self.last_ms = now_ms
        return int(f"{now_ms}{self.counter:04d}")


def test_a_key_used_by_the_official_clients_keeps_working_both_ways(
    url: str, emulator: TokensNetEmulator
) -> None:
    """Official Python client, then ours, then the official one again, then the Node way,
    then ours: every request accepted at once (no nonce retry allowed)."""
    key, secret = "official-key", SECRETS["official-key"]
    assert official_python_get(url, "/private/balance/btc/", key, secret).status_code == 200
    with TokensNetClient(key, secret, base_url=url, nonce_retries=0) as ours:
        assert ours.balance("btc").currency == "BTC"
        ours.orders()
    assert official_python_get(url, "/private/orders/get/all/", key, secret).status_code == 200
    time.sleep(0.002)  # the Node client counts milliseconds: let one pass after our last
    node = OfficialNode()
    for _ in range(2):
        node_answer = httpx2.get(
            f"{url}/private/balance/eth/", headers=signing_headers(key, secret, node.nonce())
        )
        assert node_answer.status_code == 200
    with TokensNetClient(key, secret, base_url=url, nonce_retries=0) as ours:
        assert ours.balance("eth").currency == "ETH"
    accepted = emulator.accepted_nonces[key]
    assert len(accepted) == 7
    assert strictly_increasing(accepted)
    assert all(nonce > 10**16 for nonce in accepted)


def test_our_nonces_are_at_least_the_official_python_client_s() -> None:
    before = int(time.time() * 10**7)
    nonce = MemoryNonces().next_nonce()
    after = int(time.time() * 10**7)
    assert before - 10 <= nonce <= after + 10  # same scale: within float rounding of the clock


def test_an_old_small_scale_file_mark_is_migrated_up_and_never_reused(
    url: str, emulator: TokensNetEmulator, tmp_path: Path
) -> None:
    """A nonce file written in microseconds (1.8e15) on a key the official client has since
    used: our next nonce is at the official scale, above both, and saved."""
    key, secret = "migrated-key", SECRETS["migrated-key"]
    path = tmp_path / "old.nonce"
    old_mark = time.time_ns() // 1000
    path.write_text(f"{old_mark}\n")
    assert official_python_get(url, "/private/balance/btc/", key, secret).status_code == 200
    official = emulator.accepted_nonces[key][-1]
    with TokensNetClient(
        key, secret, base_url=url, nonces=FileNonces(path), nonce_retries=0
    ) as restarted:
        restarted.balance("btc")
        restarted.orders()
    first, second = emulator.accepted_nonces[key][1:]
    assert official < first < second
    assert first > old_mark * 9
    assert FileNonces(path).last() == second
