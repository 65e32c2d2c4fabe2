"""Balances by holder: the ``BalanceSource`` protocol, its sources (Tokenpass, live
Counterparty balances, static data), and the caches
(``CachedBalances`` in memory, ``RedisCachedBalances`` shared through Redis).

>>> import asyncio
>>> from tca_gate.balances import CachedBalances, Holder, StaticBalances
>>> source = StaticBalances({"users": {"alice": {"public": {"TOKENLY": 200000000}}}})
>>> cache = CachedBalances(source, ttl=30.0, stale_for=60.0)
>>> dict(asyncio.run(cache.balances(Holder.user("alice"))))
{'TOKENLY': 200000000}
"""

from typing import TYPE_CHECKING

from tca_gate.errors import (
    BalanceFileError,
    BalanceUnavailableError,
    UnknownHolderError,
    WebhookPayloadError,
)
from tca_gate.public import publish

from ._cache_protocol import MAX_STALE_FOR, BalanceCache, BalanceReading, CacheStats
from ._changes import Change, ChangeFeed
from ._counterparty import AddressBook, CounterpartyBalances
from ._holder import BALANCE_SCOPES, Holder, HolderKind, IdentityResolver, Scope
from ._memory_cache import CachedBalances
from ._redis import RedisCachedBalances
from ._redis_feed import RedisChangeFeed
from ._source import BalanceSource
from ._source import read_only_balances as read_only_balances  # for the gate, not __all__
from ._static import StaticBalances
from ._tokenpass import TokenpassBalances
from ._webhook import BalanceEvent, BalanceWebhook, read_event
from ._webhook import SignedWebhook as SignedWebhook  # for tca_gate.delivery, not __all__

__all__ = [
    "BALANCE_SCOPES",
    "MAX_STALE_FOR",
    "AddressBook",
    "BalanceCache",
    "BalanceEvent",
    "BalanceFileError",
    "BalanceReading",
    "BalanceSource",
    "BalanceUnavailableError",
    "BalanceWebhook",
    "CacheStats",
    "CachedBalances",
    "Change",
    "ChangeFeed",
    "CounterpartyBalances",
    "Holder",
    "HolderKind",
    "IdentityResolver",
    "RedisCachedBalances",
    "RedisChangeFeed",
    "Scope",
    "StaticBalances",
    "TokenpassBalances",
    "UnknownHolderError",
    "WebhookPayloadError",
    "read_event",
]

publish(__name__, globals(), __all__)

if TYPE_CHECKING:

    def _both_are_caches(
        memory: CachedBalances, shared: RedisCachedBalances
    ) -> tuple[BalanceCache, BalanceCache]:
        """For mypy: both caches follow the ``BalanceCache`` protocol."""
        return memory, shared
