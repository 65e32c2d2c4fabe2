"""Where wallet sign-ins are kept: server side, behind the random id the session names.

The session cookie carries only ``{"sid": ...}``; the proven address and when the
sign-in ends stay here, keyed by the id's SHA-256, so the cookie holds nothing usable
and a copy of it opens nothing once the sign-in is over.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tca_gate.login import record_key

#: The session key naming the wallet sign-in.
WALLET_KEY = "tca_gate.wallet"
#: How many sign-ins the store keeps; past it the oldest end.
MAX_SIGN_INS = 100_000


@dataclass(frozen=True, slots=True)
class WalletRecord:
    """A finished wallet sign-in: the address proven and when it stops counting."""

    address: str
    expires_at: float


class MemoryWalletStore:
    """Sign-ins in this process's memory (one worker), read without awaiting."""

    def __init__(self, clock: Callable[[], float], max_records: int = MAX_SIGN_INS) -> None:
        self._records: dict[str, WalletRecord] = {}
        self._clock = clock
        self._max = max_records

    def __repr__(self) -> str:
        return f"MemoryWalletStore({len(self._records)} sign-ins)"

    def get(self, session_id: str) -> WalletRecord | None:
        """The active record of ``session_id``; an expired one is dropped."""
        key = record_key(session_id)
        record = self._records.get(key)
        if record is not None and self._clock() >= record.expires_at:
            del self._records[key]
            return None
        return record

    def put(self, session_id: str, record: WalletRecord) -> None:
        """Keep ``record`` for ``session_id``."""
        if len(self._records) >= self._max:
            self._make_room()
        self._records[record_key(session_id)] = record

    def delete(self, session_id: str) -> None:
        """Forget ``session_id``'s record."""
        self._records.pop(record_key(session_id), None)

    def _make_room(self) -> None:
        now = self._clock()
        for key in [key for key, record in self._records.items() if now >= record.expires_at]:
            del self._records[key]
        if len(self._records) >= self._max:
            for key in list(self._records)[: max(1, self._max // 10)]:
                del self._records[key]


def session_sid(session: Mapping[str, Any]) -> str | None:
    """The wallet sign-in id the session names, if any."""
    named = session.get(WALLET_KEY)
    sid = named.get("sid") if isinstance(named, Mapping) else None
    return sid if isinstance(sid, str) and sid else None
