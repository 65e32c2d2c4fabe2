"""Balances by holder: the ``BalanceSource`` protocol, its sources and ``CachedBalances``.

>>> import asyncio
>>> from tca_gate.balances import CachedBalances, Holder, StaticBalances
>>> source = StaticBalances({"users": {"alice": {"public": {"TOKENLY": 200000000}}}})
>>> cache = CachedBalances(source, ttl=30.0, stale_for=60.0)
>>> dict(asyncio.run(cache.balances(Holder.user("alice"))))
{'TOKENLY': 200000000}
"""

from ._cache import MAX_STALE_FOR, BalanceReading, CachedBalances, CacheStats
from ._errors import BalanceFileError, BalanceUnavailableError, UnknownHolderError
from ._holder import SCOPES, Holder, HolderKind, Scope
from ._source import BalanceSource
from ._static import StaticBalances
from ._tokenpass import TokenpassBalances

__all__ = [
    "MAX_STALE_FOR",
    "SCOPES",
    "BalanceFileError",
    "BalanceReading",
    "BalanceSource",
    "BalanceUnavailableError",
    "CacheStats",
    "CachedBalances",
    "Holder",
    "HolderKind",
    "Scope",
    "StaticBalances",
    "TokenpassBalances",
    "UnknownHolderError",
]
