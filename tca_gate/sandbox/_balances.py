"""Balances as Tokenpass computes them: real holdings, plus promises received, minus promises made.

Only unexpired promises count. An address's balance is its real holding plus the
promises to it, minus the promises from it; a user's is the sum over their
active, verified addresses (public ones only, for public balances) plus the
promises to ``user:{username}``. Zero balances are left out.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping

from tca_gate.rules import SATOSHIS_PER_TOKEN

#: An SQL condition: the promise has not expired at the time bound to ``:now``.
LIVE = "(expiration IS NULL OR expiration > :now)"


def real_balance(db: sqlite3.Connection, address: str, asset: str) -> int:
    """What ``address`` really holds of ``asset`` (promises aside)."""
    row = db.execute(
        "SELECT sat FROM balances WHERE address = ? AND asset = ?", (address, asset)
    ).fetchone()
    return 0 if row is None else int(row[0])


def promised_from(
    db: sqlite3.Connection, source: str, asset: str, now: float, *, besides: int | None = None
) -> int:
    """The total of ``source``'s live promises of ``asset`` (leaving out promise ``besides``)."""
    rows = db.execute(
        f"SELECT quantity FROM promises WHERE source = :source AND asset = :asset AND {LIVE}"  # noqa: S608 (a constant)
        " AND id IS NOT :besides",
        {"source": source, "asset": asset, "now": now, "besides": besides},
    )
    return sum(int(row[0]) for row in rows)


def address_balances(db: sqlite3.Connection, address: str, now: float) -> dict[str, int]:
    """One address's balances, promises included."""
    return _without_zeros(_address_totals(db, [address], now))


def user_balances(
    db: sqlite3.Connection, user: sqlite3.Row, now: float, *, public_only: bool = False
) -> dict[str, int]:
    """A user's combined balances over their active, verified (and, if asked, public) addresses."""
    condition = "AND public = 1" if public_only else ""
    addresses = [
        str(row[0])
        for row in db.execute(
            f"SELECT address FROM addresses WHERE user_id = ? AND active = 1 AND verified = 1 {condition}",  # noqa: S608, E501 (a constant)
            (user["id"],),
        )
    ]
    totals = _address_totals(db, addresses, now)
    received = db.execute(
        f"SELECT asset, quantity FROM promises WHERE destination = :to AND {LIVE}",  # noqa: S608 (a constant)
        {"to": f"user:{user['username']}", "now": now},
    )
    for asset, quantity in received:
        totals[asset] += int(quantity)
    return _without_zeros(totals)


def balance_list(balances: Mapping[str, int]) -> list[dict[str, object]]:
    """Balance objects ``{"asset", "name", "balance", "balanceSat"}``, sorted by asset."""
    return [
        {
            "asset": asset,
            "name": asset,
            "balance": sat / SATOSHIS_PER_TOKEN,
            "balanceSat": str(sat),
        }
        for asset, sat in sorted(balances.items())
    ]


def _address_totals(db: sqlite3.Connection, addresses: Iterable[str], now: float) -> Counter[str]:
    totals: Counter[str] = Counter()
    for address in addresses:
        for asset, sat in db.execute(
            "SELECT asset, sat FROM balances WHERE address = ?", (address,)
        ):
            totals[asset] += int(sat)
        for asset, quantity in db.execute(
            f"SELECT asset, quantity FROM promises WHERE destination = :address AND {LIVE}",  # noqa: S608 (a constant)
            {"address": address, "now": now},
        ):
            totals[asset] += int(quantity)
        for asset, quantity in db.execute(
            f"SELECT asset, quantity FROM promises WHERE source = :address AND {LIVE}",  # noqa: S608 (a constant)
            {"address": address, "now": now},
        ):
            totals[asset] -= int(quantity)
    return totals


def _without_zeros(totals: Counter[str]) -> dict[str, int]:
    return {asset: sat for asset, sat in sorted(totals.items()) if sat}
