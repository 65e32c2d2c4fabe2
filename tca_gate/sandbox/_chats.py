"""Token chats: chats a user creates, gated by token rules, that other users join.

A chat's ``tca_rules`` is a list of ``{"token", "quantity"}`` (satoshis); a user
meets the chat when any one rule is met by their holdings (as TCA counts them).
Every call needs the ``manage-chats`` scope; reading, changing and deleting a chat
are its owner's, joining is for the owner and every user who meets an active chat.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping

from tca_gate.errors import shorten

from ._api_error import ApiError, invalid, not_found
from ._balances import user_balances
from ._clock import timestamp
from ._endpoint import Call
from ._limits import MAX_SAT, is_asset_name

SCOPE = "manage-chats"
_MAX_RULES = 50
_MAX_NAME = 255


def chat_object(row: sqlite3.Row, joined: bool) -> dict[str, object]:
    """The token chat object; ``joined``: whether the caller is on its roster."""
    return {
        "id": row["uuid"],
        "name": row["name"],
        "active": bool(row["active"]),
        "global": bool(row["global"]),
        "tca_rules": json.loads(row["tca_rules"]),
        "joined": joined,
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
    }


def list_chats(call: Call) -> object:
    """``GET tca/messenger/chats``: the user's own chats and the active chats they meet."""
    balances = user_balances(call.db, call.account, call.now)
    rows = call.db.execute("SELECT * FROM chats ORDER BY created_at, uuid").fetchall()
    return [
        chat_object(row, _joined(call, row))
        for row in rows
        if row["owner_id"] == call.account["id"] or (row["active"] and _meets(row, balances))
    ]


def create_chat(call: Call) -> object:
    """``POST chats``: a new chat owned by the user."""
    chat_uuid = str(uuid.uuid4())
    call.db.execute(
        "INSERT INTO chats (uuid, owner_id, name, active, global, tca_rules, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            chat_uuid,
            call.account["id"],
            call.params.text("name", max_length=_MAX_NAME),
            call.params.flag("active", True),
            call.params.flag("global", False),
            json.dumps(_rules(call.params.values.get("tca_rules", []))),
            int(call.now),
            int(call.now),
        ),
    )
    return chat_object(_chat(call, chat_uuid), joined=False)


def get_chat(call: Call) -> object:
    """``GET chat/{chat}``: one of the user's chats."""
    row = _owned_chat(call)
    return chat_object(row, _joined(call, row))


def update_chat(call: Call) -> object:
    """``POST chat/{chat}``: change a chat's name, active or global flags or its rules."""
    row = _owned_chat(call)
    values = call.params.values
    name = call.params.text("name", max_length=_MAX_NAME) if "name" in values else row["name"]
    rules = _rules(values["tca_rules"]) if "tca_rules" in values else None
    call.db.execute(
        "UPDATE chats SET name = ?, active = ?, global = ?, tca_rules = ?, updated_at = ?"
        " WHERE uuid = ?",
        (
            name,
            call.params.flag("active", bool(row["active"])),
            call.params.flag("global", bool(row["global"])),
            row["tca_rules"] if rules is None else json.dumps(rules),
            int(call.now),
            row["uuid"],
        ),
    )
    updated = _chat(call, row["uuid"])
    return chat_object(updated, _joined(call, updated))


def delete_chat(call: Call) -> object:
    """``DELETE chat/{chat}``: remove a chat and its roster."""
    row = _owned_chat(call)
    call.db.execute("DELETE FROM chats WHERE uuid = ?", (row["uuid"],))
    return {"result": True}


def join_chat(call: Call) -> object:
    """``POST tca/messenger/roster/{chat}``: put the user on an active chat they meet."""
    row = _chat(call, call.path["chat"])
    if row["owner_id"] != call.account["id"]:
        if not row["active"]:
            raise ApiError(403, "this chat is not active", field="chat")
        if not _meets(row, user_balances(call.db, call.account, call.now)):
            raise ApiError(403, "the user does not hold the tokens this chat requires")
    call.db.execute(
        "INSERT OR IGNORE INTO chat_members (chat_uuid, user_id, joined_at) VALUES (?, ?, ?)",
        (row["uuid"], call.account["id"], int(call.now)),
    )
    return {"result": True}


def _rules(value: object) -> list[dict[str, object]]:
    """``tca_rules`` checked: a list of ``{"token", "quantity"}``, quantities in satoshis."""
    if not isinstance(value, list) or len(value) > _MAX_RULES:
        raise invalid("tca_rules", f"must be a list of at most {_MAX_RULES} rules")
    rules: list[dict[str, object]] = []
    for number, rule in enumerate(value):
        where = f"tca_rules[{number}]"
        if not isinstance(rule, Mapping) or set(rule) != {"token", "quantity"}:
            raise invalid(where, "must be an object with token and quantity")
        token, quantity = rule["token"], rule["quantity"]
        if not is_asset_name(token):
            raise invalid(where, f"{shorten(repr(token), 40)} is not a token name")
        if (
            isinstance(quantity, str)
            and quantity.isascii()
            and quantity.isdigit()
            and len(quantity) < 20
        ):
            quantity = int(quantity)
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise invalid(where, "quantity must be a whole number of satoshis")
        if not 0 <= quantity <= MAX_SAT:
            raise invalid(where, f"quantity must be between 0 and {MAX_SAT}")
        rules.append({"token": token, "quantity": quantity})
    return rules


def _meets(row: sqlite3.Row, balances: Mapping[str, int]) -> bool:
    """Whether any one of the chat's rules is met by ``balances``."""
    rules = json.loads(row["tca_rules"])
    return any(balances.get(rule["token"], 0) >= rule["quantity"] for rule in rules)


def _joined(call: Call, row: sqlite3.Row) -> bool:
    return (
        call.db.execute(
            "SELECT 1 FROM chat_members WHERE chat_uuid = ? AND user_id = ?",
            (row["uuid"], call.account["id"]),
        ).fetchone()
        is not None
    )


def _chat(call: Call, chat_uuid: str) -> sqlite3.Row:
    row: sqlite3.Row | None = call.db.execute(
        "SELECT * FROM chats WHERE uuid = ?", (chat_uuid,)
    ).fetchone()
    if row is None:
        raise not_found("Chat", "chat")
    return row


def _owned_chat(call: Call) -> sqlite3.Row:
    row = _chat(call, call.path["chat"])
    if row["owner_id"] != call.account["id"]:
        raise ApiError(403, "this chat belongs to another user", field="chat")
    return row
