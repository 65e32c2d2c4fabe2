"""Where wallet sign-ins are kept: server side, behind the random id the session names.

The session cookie carries only ``{"sid": ...}``; the proven address and when the
sign-in ends stay in a ``WalletStore``, keyed by the id's SHA-256, so the cookie holds
nothing usable and a copy of it opens nothing once the sign-in is over. The default
store is this process's memory (read without awaiting); ``RedisWalletStore`` is shared
by every worker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tca_gate.login import MemoryRecords, RedisRecords

if TYPE_CHECKING:
    from redis.asyncio import Redis as AsyncRedis
    from redis.asyncio import RedisCluster as AsyncRedisCluster

#: The session key naming the wallet sign-in.
WALLET_KEY = "tca_gate.wallet"
#: How many sign-ins the in-memory store keeps; past it the oldest end.
MAX_SIGN_INS = 100_000


@dataclass(frozen=True, slots=True)
class WalletRecord:
    """A finished wallet sign-in: the address proven and when it stops counting (unix
    seconds)."""

    address: str
    expires_at: float

    def to_json(self) -> str:
        """The record as JSON text (what the Redis store keeps)."""
        return json.dumps({"address": self.address, "expires_at": self.expires_at})

    @classmethod
    def from_json(cls, text: str | bytes) -> WalletRecord:
        """A record read back; ``ValueError`` when it is not one (fail closed)."""
        data: Any = json.loads(text)
        if not isinstance(data, Mapping):
            raise ValueError("a wallet record must be a JSON object")
        address, expires_at = data.get("address"), data.get("expires_at")
        if not isinstance(address, str) or not address:
            raise ValueError("a wallet record needs an address")
        if isinstance(expires_at, bool) or not isinstance(expires_at, int | float):
            raise ValueError("a wallet record needs expires_at, in unix seconds")
        return cls(address, float(expires_at))


class WalletStore(Protocol):
    """Keeps wallet sign-ins by session id; every method is awaited."""

    async def save(self, session_id: str, record: WalletRecord) -> None:
        """Keep ``record`` for ``session_id`` until it expires."""

    async def load(self, session_id: str) -> WalletRecord | None:
        """The active record of ``session_id``, or ``None``."""

    async def delete(self, session_id: str) -> None:
        """Forget ``session_id``'s record."""


class MemoryWalletStore(MemoryRecords[WalletRecord]):
    """Sign-ins in this process's memory (one worker); ``get`` reads without awaiting."""

    def __init__(
        self, clock: Callable[[], float] = time.time, max_records: int = MAX_SIGN_INS
    ) -> None:
        super().__init__(max_records, clock)

    def __repr__(self) -> str:
        return f"MemoryWalletStore({len(self._records)} sign-ins)"

    def get(self, session_id: str) -> WalletRecord | None:
        """The active record of ``session_id``; an expired one is dropped."""
        return self.peek(session_id)

    async def delete(self, session_id: str) -> None:
        self._pop(session_id)


class RedisWalletStore(RedisRecords[WalletRecord]):
    """Sign-ins in Redis (``redis.asyncio.Redis`` or ``RedisCluster``), shared by every worker.

    Each sign-in is one key, ``prefix`` + the SHA-256 of its session id, holding the
    record as JSON and expiring with it. A Redis operation taking over ``timeout``
    seconds, or failing, is a ``LoginError`` (503): nobody is let in on a guess.
    """

    def __init__(
        self,
        redis: AsyncRedis | AsyncRedisCluster,
        *,
        prefix: str = "tca_gate:wallet:",
        timeout: float = 2.0,
    ) -> None:
        super().__init__(
            redis,
            prefix,
            timeout,
            parse=WalletRecord.from_json,
            needs=("set", "get", "delete"),
            kept="sign-in",
        )

    def __repr__(self) -> str:
        return f"RedisWalletStore(prefix={self.prefix!r})"

    async def delete(self, session_id: str) -> None:
        await self._bounded(self.redis.delete(self._key(session_id)))


def session_sid(session: Mapping[str, Any]) -> str | None:
    """The wallet sign-in id the session names, if any."""
    named = session.get(WALLET_KEY)
    sid = named.get("sid") if isinstance(named, Mapping) else None
    return sid if isinstance(sid, str) and sid else None
