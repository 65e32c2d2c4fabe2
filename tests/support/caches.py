"""Running cache scenarios: an async scenario run to its end, a wait for a condition, and
``count`` Redis caches on clients of their own, as separate workers would have them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from tca_gate.balances import BalanceSource, RedisCachedBalances

T = TypeVar("T")


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run ``scenario`` (a function giving an awaitable) in a new event loop; its result."""

    async def main() -> T:
        return await scenario()

    return asyncio.run(main())


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until ``condition`` holds, failing the test if it does not within ``within`` s."""
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.002)


@contextlib.asynccontextmanager
async def redis_caches(
    url: str, source: BalanceSource, count: int = 1, **options: Any
) -> AsyncIterator[list[RedisCachedBalances]]:
    """``count`` caches made by ``from_url(source, url, **options)``, each on its own
    client, as separate workers would have them; closed at the end."""
    made = [RedisCachedBalances.from_url(source, url, **options) for _ in range(count)]
    try:
        yield made
    finally:
        for cache in made:
            await cache.aclose()
