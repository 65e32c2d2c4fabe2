"""Where finished logins are kept: server side, behind a random session id.

The session cookie carries only the id (``secrets.token_urlsafe(32)``); the user, the
OAuth token and the granted scopes stay here, so the cookie holds nothing usable and a
copy of it is worth nothing once the login is deleted. Records are keyed by the SHA-256
of the id, so a dump of the store yields no cookie either, and never by the token.
``MemoryRecords`` and ``RedisRecords`` are that keeping for any record with an expiry and
a JSON form: the wallet sign-in store is them too.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from tca_gate.errors import LoginConfigError, LoginError

from ._user import TokenpassUser

if TYPE_CHECKING:
    from redis.asyncio import Redis as AsyncRedis
    from redis.asyncio import RedisCluster as AsyncRedisCluster

#: How many logins the in-memory store keeps; past it the oldest ones end.
MAX_MEMORY_LOGINS = 100_000
#: How long a login lasts at most when its token does not expire sooner (two weeks).
DEFAULT_MAX_AGE = 14 * 24 * 3600


@dataclass(frozen=True, slots=True)
class LoginRecord:
    """A finished login: the user, their OAuth token, the scopes Tokenpass granted
    (comma-joined) and when the login stops counting (unix seconds)."""

    user: TokenpassUser
    access_token: str = field(repr=False)
    scope: str
    expires_at: float

    def active(self, now: float) -> bool:
        """Whether the login still counts at ``now``."""
        return now < self.expires_at

    def to_json(self) -> str:
        """The record as JSON text (what the Redis store keeps)."""
        return json.dumps(
            {
                "user": self.user.to_json(),
                "access_token": self.access_token,
                "scope": self.scope,
                "expires_at": self.expires_at,
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> LoginRecord:
        """A record read back; ``ValueError`` when it is not one (fail closed)."""
        data: Any = json.loads(text)
        if not isinstance(data, Mapping):
            raise ValueError("a login record must be a JSON object")
        token, scope, expires_at = (
            data.get("access_token"),
            data.get("scope"),
            data.get("expires_at"),
        )
        if not isinstance(token, str) or not token or not isinstance(scope, str):
            raise ValueError("a login record needs an access_token and a scope")
        if isinstance(expires_at, bool) or not isinstance(expires_at, int | float):
            raise ValueError("a login record needs expires_at, in unix seconds")
        return cls(TokenpassUser.from_json(data.get("user")), token, scope, float(expires_at))


def new_session_id() -> str:
    """A fresh, unguessable session id (256 random bits)."""
    return secrets.token_urlsafe(32)


def record_key(session_id: str) -> str:
    """The store's key of a session id: its SHA-256, so the store holds no usable id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class KeptRecord(Protocol):
    """What a kept record offers: when it stops counting, and itself as JSON text."""

    @property
    def expires_at(self) -> float:
        """When the record stops counting (unix seconds)."""

    def to_json(self) -> str:
        """The record as JSON text (what Redis keeps)."""


R = TypeVar("R", bound=KeptRecord)


class LoginStore(Protocol):
    """Keeps login records by session id; every method is awaited."""

    async def save(self, session_id: str, record: LoginRecord) -> None:
        """Keep ``record`` for ``session_id`` until it expires."""

    async def load(self, session_id: str) -> LoginRecord | None:
        """The active record of ``session_id``, or ``None``."""

    async def delete(self, session_id: str) -> LoginRecord | None:
        """Forget ``session_id``'s record; the record it had (active or not), if any."""


class MemoryRecords(Generic[R]):
    """Records in this process's memory, at most ``max_records`` of them; ``peek`` and
    ``put`` work without awaiting."""

    def __init__(self, max_records: int, clock: Callable[[], float] = time.time) -> None:
        self._records: dict[str, R] = {}
        self._max = max_records
        self._clock = clock

    def peek(self, session_id: str) -> R | None:
        """The active record of ``session_id``, or ``None``; an expired one is dropped."""
        key = record_key(session_id)
        record = self._records.get(key)
        if record is not None and self._clock() >= record.expires_at:
            del self._records[key]
            return None
        return record

    def put(self, session_id: str, record: R) -> None:
        """Keep ``record`` for ``session_id``, without awaiting."""
        if len(self._records) >= self._max:
            self._make_room()
        self._records[record_key(session_id)] = record

    async def save(self, session_id: str, record: R) -> None:
        self.put(session_id, record)

    async def load(self, session_id: str) -> R | None:
        return self.peek(session_id)

    def _pop(self, session_id: str) -> R | None:
        return self._records.pop(record_key(session_id), None)

    def _make_room(self) -> None:
        """Drop expired records; when none had, the oldest tenth (those users sign in again)."""
        now = self._clock()
        for key in [key for key, record in self._records.items() if now >= record.expires_at]:
            del self._records[key]
        if len(self._records) >= self._max:
            for key in list(self._records)[: max(1, self._max // 10)]:
                del self._records[key]


class RedisRecords(Generic[R]):
    """Records in Redis (``redis.asyncio.Redis``, or ``RedisCluster``: every command names
    one key), shared by every worker: one key each, ``prefix`` + the SHA-256 of its
    session id, holding the record as JSON and expiring with it. An operation taking over
    ``timeout`` seconds, or failing, is a ``LoginError`` (503) naming the ``kept`` store."""

    def __init__(
        self,
        redis: AsyncRedis | AsyncRedisCluster,
        prefix: str,
        timeout: float,
        *,
        parse: Callable[[str | bytes], R],
        needs: Iterable[str],
        kept: str,
    ) -> None:
        if not all(callable(getattr(redis, name, None)) for name in needs):
            raise LoginConfigError(
                "redis must be a redis.asyncio.Redis or RedisCluster client, "
                f"not {type(redis).__name__}"
            )
        if not isinstance(prefix, str) or not prefix:
            raise LoginConfigError("prefix must be a non-empty string")
        if not timeout > 0:
            raise LoginConfigError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self.redis = redis
        self.prefix = prefix
        self.timeout = timeout
        self._parse = parse
        self._kept = kept

    async def save(self, session_id: str, record: R) -> None:
        milliseconds = max(1, int((record.expires_at - time.time()) * 1000))
        await self._bounded(
            self.redis.set(self._key(session_id), record.to_json(), px=milliseconds)
        )

    async def load(self, session_id: str) -> R | None:
        return self._read(await self._bounded(self.redis.get(self._key(session_id))))

    def _key(self, session_id: str) -> str:
        return self.prefix + record_key(session_id)

    async def _bounded(self, operation: Any) -> Any:
        try:
            async with asyncio.timeout(self.timeout):
                return await operation
        except Exception as error:
            raise LoginError(
                "login_store_unavailable",
                f"The {self._kept} store (Redis) could not be reached; try again later.",
                503,
            ) from error

    def _read(self, stored: object) -> R | None:
        """A stored record read back: ``None`` when missing, expired or unreadable."""
        if not isinstance(stored, str | bytes):
            return None
        try:
            record = self._parse(stored)
        except ValueError:
            return None
        return record if time.time() < record.expires_at else None


class MemoryLoginStore(MemoryRecords[LoginRecord]):
    """Logins in this process's memory: the default, for an app with one worker.

    Several workers (or a restart) do not share it: use ``RedisLoginStore`` there.
    ``peek`` reads without awaiting, which is how the gate reads the login.
    """

    def __init__(self, max_logins: int = MAX_MEMORY_LOGINS) -> None:
        super().__init__(max_logins)

    def __repr__(self) -> str:
        return f"MemoryLoginStore({len(self._records)} logins)"

    async def delete(self, session_id: str) -> LoginRecord | None:
        return self._pop(session_id)


class RedisLoginStore(RedisRecords[LoginRecord]):
    """Logins in Redis (``redis.asyncio.Redis`` or ``RedisCluster``), shared by every worker.

    Each login is one key, ``prefix`` + the SHA-256 of its session id, holding the
    record as JSON and expiring with it. A Redis operation taking over ``timeout``
    seconds, or failing, is a ``LoginError`` (503): nobody is let in on a guess.
    Needs the ``redis`` extra.
    """

    def __init__(
        self,
        redis: AsyncRedis | AsyncRedisCluster,
        *,
        prefix: str = "tca_gate:login:",
        timeout: float = 2.0,
    ) -> None:
        super().__init__(
            redis,
            prefix,
            timeout,
            parse=LoginRecord.from_json,
            needs=("set", "getdel"),
            kept="login",
        )

    def __repr__(self) -> str:
        return f"RedisLoginStore(prefix={self.prefix!r})"

    async def delete(self, session_id: str) -> LoginRecord | None:
        return self._read(await self._bounded(self.redis.getdel(self._key(session_id))))
