"""App credits: groups of accounts kept as a double-entry ledger that always sums to zero.

Every give or take writes two entries of opposite sign (the counter-account is
``_`` unless named), so a group's entries always sum to zero. Only the group's
creator and the apps on its ``app_whitelist`` may use it, and only the creator may
rename it or change its whitelist. A batch of gives or
takes lands whole or not at all, and no account but ``_`` may end below zero.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections import Counter
from collections.abc import Mapping

from ._api_error import ApiError, invalid, not_found
from ._clock import timestamp
from ._endpoint import Call
from ._limits import MAX_TEXT

HOUSE = "_"
_MAX_AMOUNT = 10**15
_MAX_BATCH = 1000
_MAX_WHITELIST = 100


def new_group(call: Call) -> object:
    """``POST credits``: a new credit group owned by the calling app, with its ``_`` account."""
    name = call.params.text("name")
    whitelist = _whitelist(call) or []
    group_uuid = str(uuid.uuid4())
    now = int(call.now)
    call.db.execute(
        "INSERT INTO credit_groups (uuid, name, owner, app_whitelist, active, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
        (group_uuid, name, call.app_id, json.dumps(whitelist), now, now),
    )
    _insert_account(call.db, group_uuid, HOUSE, None, now)
    return {"credit_group": _group_object(_group(call, group_uuid))}


def update_group(call: Call) -> object:
    """``PATCH credits/{group}``: rename it or change its ``app_whitelist`` (its owner only)."""
    group = _group(call)
    if group["owner"] != call.app_id:
        raise ApiError(
            403, "only the app that created the credit group may change it", field="group"
        )
    name = call.params.text("name") if call.params.has("name") else group["name"]
    whitelist = _whitelist(call)
    call.db.execute(
        "UPDATE credit_groups SET name = ?, app_whitelist = ?, updated_at = ? WHERE uuid = ?",
        (
            name,
            group["app_whitelist"] if whitelist is None else json.dumps(whitelist),
            int(call.now),
            group["uuid"],
        ),
    )
    return {"credit_group": _group_object(_group(call, group["uuid"]))}


def list_groups(call: Call) -> object:
    """``GET credits``: the groups this app may use."""
    rows = call.db.execute("SELECT * FROM credit_groups ORDER BY created_at, uuid").fetchall()
    return {"list": [_group_object(row) for row in rows if _may_use(row, call.app_id)]}


def get_group(call: Call) -> object:
    """``GET credits/{group}``."""
    return {"credit_group": _group_object(_group(call))}


def group_history(call: Call) -> object:
    """``GET credits/{group}/history``: every entry of the group, oldest first."""
    group = _group(call)
    rows = call.db.execute(
        _ENTRIES + " WHERE credit_entries.group_uuid = ? ORDER BY position", (group["uuid"],)
    ).fetchall()
    transactions = [_entry_object(row) for row in rows]
    return {
        "credit_group": _group_object(group),
        "transactions": transactions,
        "count": len(transactions),
    }


def list_accounts(call: Call) -> object:
    """``GET credits/{group}/accounts``."""
    group = _group(call)
    rows = call.db.execute(
        "SELECT * FROM credit_accounts WHERE group_uuid = ? ORDER BY created_at, name",
        (group["uuid"],),
    ).fetchall()
    return {"accounts": [_account_object(call.db, row) for row in rows]}


def new_account(call: Call) -> object:
    """``POST credits/{group}/accounts``: named after a user's uuid, it is tied to that user."""
    group = _group(call)
    name = call.params.text("name", max_length=200)
    taken = call.db.execute(
        "SELECT 1 FROM credit_accounts WHERE group_uuid = ? AND name = ?", (group["uuid"], name)
    ).fetchone()
    if taken:
        raise ApiError(409, f"the group already has an account named {name!r}", field="name")
    user = call.db.execute("SELECT id FROM users WHERE uuid = ?", (name,)).fetchone()
    account_uuid = _insert_account(
        call.db, group["uuid"], name, None if user is None else user[0], int(call.now)
    )
    return {"account": _account_object(call.db, _account(call, group, account_uuid))}


def get_account(call: Call) -> object:
    """``GET credits/{group}/accounts/{account}`` (by uuid or name)."""
    group = _group(call)
    return {"account": _account_object(call.db, _account(call, group))}


def account_history(call: Call) -> object:
    """``GET credits/{group}/accounts/{account}/history``: the account's entries, oldest first."""
    group = _group(call)
    account = _account(call, group)
    rows = call.db.execute(
        _ENTRIES + " WHERE credit_entries.account_uuid = ? ORDER BY position", (account["uuid"],)
    ).fetchall()
    transactions = [_entry_object(row) for row in rows]
    return {
        "account": _account_object(call.db, account),
        "transactions": transactions,
        "count": len(transactions),
    }


def give_credit(call: Call) -> object:
    """``POST credits/{group}/accounts/credit``: credit each account, debit its ``source``."""
    return _post_pairs(call, counter_key="source", credit_named=True)


def take_credit(call: Call) -> object:
    """``POST credits/{group}/accounts/debit``: debit each account, credit its ``destination``."""
    return _post_pairs(call, counter_key="destination", credit_named=False)


def _post_pairs(call: Call, *, counter_key: str, credit_named: bool) -> object:
    """Write one credit and one debit entry per item, all or none."""
    group = _group(call)
    items = call.params.values.get("accounts")
    if not isinstance(items, list) or not items:
        raise invalid("accounts", "must be a non-empty list of {account, amount} objects")
    if len(items) > _MAX_BATCH:
        raise invalid("accounts", f"must hold at most {_MAX_BATCH} entries")
    changes: Counter[str] = Counter()
    pairs = []
    for index, item in enumerate(items):
        where = f"accounts[{index}]"
        if not isinstance(item, Mapping):
            raise invalid(where, "must be an object with account and amount")
        named = _account(call, group, _item_text(item, "account", where))
        counter_name = item.get(counter_key)
        counter = _account(
            call, group, HOUSE if counter_name is None else _item_text(item, counter_key, where)
        )
        if named["uuid"] == counter["uuid"]:
            raise invalid(f"{where}.{counter_key}", "must differ from the account")
        amount = item.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= _MAX_AMOUNT:
            raise invalid(f"{where}.amount", f"must be a whole number from 1 to {_MAX_AMOUNT}")
        ref = item.get("ref")
        if ref is not None and (not isinstance(ref, str) or len(ref) > MAX_TEXT):
            raise invalid(f"{where}.ref", f"must be a string of at most {MAX_TEXT} characters")
        credited, debited = (named, counter) if credit_named else (counter, named)
        changes[credited["uuid"]] += amount
        changes[debited["uuid"]] -= amount
        pairs.append((credited, debited, amount, ref))
    for account_uuid, change in changes.items():
        row = _account(call, group, account_uuid)
        if row["name"] != HOUSE and _balance(call.db, account_uuid) + change < 0:
            raise invalid("accounts", f"account {row['name']!r} would go below zero")
    transactions = []
    for credited, debited, amount, ref in pairs:
        credit = _insert_entry(call, group["uuid"], credited["uuid"], amount, ref)
        debit = _insert_entry(call, group["uuid"], debited["uuid"], -amount, ref)
        transactions.append({"credit": credit, "debit": debit})
    return {"transactions": transactions}


def _item_text(item: Mapping[str, object], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise invalid(f"{where}.{key}", "must be an account's uuid or name")
    return value


def _insert_entry(
    call: Call, group_uuid: str, account_uuid: str, amount: int, ref: str | None
) -> dict[str, object]:
    tx_uuid = str(uuid.uuid4())
    call.db.execute(
        "INSERT INTO credit_entries (tx_uuid, group_uuid, account_uuid, amount, ref, position,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?,"
        " (SELECT coalesce(max(position), 0) + 1 FROM credit_entries), ?, ?)",
        (tx_uuid, group_uuid, account_uuid, amount, ref, int(call.now), int(call.now)),
    )
    call.db.execute(
        "UPDATE credit_accounts SET updated_at = ? WHERE uuid = ?", (int(call.now), account_uuid)
    )
    row = call.db.execute(_ENTRIES + " WHERE tx_uuid = ?", (tx_uuid,)).fetchone()
    return _entry_object(row)


def _insert_account(
    db: sqlite3.Connection, group_uuid: str, name: str, user_id: int | None, now: int
) -> str:
    account_uuid = str(uuid.uuid4())
    db.execute(
        "INSERT INTO credit_accounts (uuid, group_uuid, name, user_id, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (account_uuid, group_uuid, name, user_id, now, now),
    )
    return account_uuid


def _whitelist(call: Call) -> list[str] | None:
    whitelist = call.params.text_list("app_whitelist", separator="\n")
    if whitelist is not None and len(whitelist) > _MAX_WHITELIST:
        raise invalid("app_whitelist", f"must name at most {_MAX_WHITELIST} apps")
    return whitelist


def _may_use(group: sqlite3.Row, client_id: str) -> bool:
    return bool(group["owner"] == client_id or client_id in json.loads(group["app_whitelist"]))


def _group(call: Call, group_uuid: str | None = None) -> sqlite3.Row:
    row: sqlite3.Row | None = call.db.execute(
        "SELECT * FROM credit_groups WHERE uuid = ?", (group_uuid or call.path["group"],)
    ).fetchone()
    if row is None:
        raise not_found("Credit group", "group")
    if not _may_use(row, call.app_id):
        raise ApiError(403, "this app is not on the credit group's app_whitelist", field="group")
    return row


def _account(call: Call, group: sqlite3.Row, key: str | None = None) -> sqlite3.Row:
    key = key or call.path["account"]
    row: sqlite3.Row | None = call.db.execute(
        "SELECT * FROM credit_accounts WHERE group_uuid = ? AND (uuid = ? OR name = ?)"
        " ORDER BY uuid = ? DESC",
        (group["uuid"], key, key, key),
    ).fetchone()
    if row is None:
        raise not_found(f"Credit account {key!r}", "account")
    return row


def _balance(db: sqlite3.Connection, account_uuid: str) -> int:
    rows = db.execute("SELECT amount FROM credit_entries WHERE account_uuid = ?", (account_uuid,))
    return sum(int(row[0]) for row in rows)


def _group_object(row: sqlite3.Row) -> dict[str, object]:
    return {
        "name": row["name"],
        "uuid": row["uuid"],
        "active": bool(row["active"]),
        "app_whitelist": json.loads(row["app_whitelist"]),
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
    }


def _account_object(db: sqlite3.Connection, row: sqlite3.Row) -> dict[str, object]:
    user = None
    if row["user_id"] is not None:
        user = db.execute(
            "SELECT uuid, username FROM users WHERE id = ?", (row["user_id"],)
        ).fetchone()
    return {
        "name": row["name"],
        "uuid": row["uuid"],
        "balance": _balance(db, row["uuid"]),
        "tokenpass_user": False
        if user is None
        else {"uuid": user[0], "slug": user[1].lower(), "username": user[1]},
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
    }


_ENTRIES = (
    "SELECT credit_entries.*, credit_accounts.name AS account_name, users.username AS username"
    " FROM credit_entries"
    " JOIN credit_accounts ON credit_accounts.uuid = credit_entries.account_uuid"
    " LEFT JOIN users ON users.id = credit_accounts.user_id"
)


def _entry_object(row: sqlite3.Row) -> dict[str, object]:
    return {
        "credit_group": row["group_uuid"],
        "account": row["account_name"],
        "account_uuid": row["account_uuid"],
        "tokenpass_user": row["username"],
        "tx_uuid": row["tx_uuid"],
        "amount": str(row["amount"]),
        "ref": row["ref"],
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
    }
