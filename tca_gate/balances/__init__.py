"""Balances by holder: the ``BalanceSource`` protocol, its sources, and the caches
(``CachedBalances`` in memory, ``RedisCachedBalances`` shared through Redis).

>>> import asyncio
>>> from tca_gate.balances import CachedBalances, Holder, StaticBalances
>>> source = StaticBalances({"users": {"alice": {"public": {"TOKENLY": 200000000}}}})
>>> cache = CachedBalances(source, ttl=30.0, stale_for=60.0)
>>> dict(asyncio.run(cache.balances(Holder.user("alice"))))
{'TOKENLY': 200000000}
"""

from typing import TYPE_CHECKING

from ._cache import CachedBalances
from ._caching import MAX_STALE_FOR, BalanceCache, BalanceReading, CacheStats
from ._errors import BalanceFileError, BalanceUnavailableError, UnknownHolderError
from ._holder import SCOPES, Holder, HolderKind, Scope
from ._redis import RedisCachedBalances
from ._source import BalanceSource
from ._static import StaticBalances
from ._tokenpass import TokenpassBalances

__all__ = [
    "MAX_STALE_FOR",
    "SCOPES",
    "BalanceCache",
    "BalanceFileError",
    "BalanceReading",
    "BalanceSource",
    "BalanceUnavailableError",
    "CacheStats",
    "CachedBalances",
    "Holder",
    "HolderKind",
    "RedisCachedBalances",
    "Scope",
    "StaticBalances",
    "TokenpassBalances",
    "UnknownHolderError",
]

if TYPE_CHECKING:

    def _both_are_caches(
        memory: CachedBalances, shared: RedisCachedBalances
    ) -> tuple[BalanceCache, BalanceCache]:
        """For mypy: both caches follow the ``BalanceCache`` protocol."""
        return memory, shared
