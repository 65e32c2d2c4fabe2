"""Token chats: chats a user creates, open to holders of tokens (scope ``manage-chats``)."""

from __future__ import annotations

from collections.abc import Iterable

from tca_gate.errors import InvalidArgumentError
from tca_gate.service import UNCHANGED, Call, Change, amount, changes, done, flag, path, text, whole
from tca_gate.tokenpass import _read as read

from ._app import TokenpassApp
from ._models import Chat, ChatRule
from ._user_token import UserCall, user_token

_CHAT = "/api/v1/chat/{chat_id}"


def get_chats(app: TokenpassApp, oauth_token: str) -> Call[tuple[Chat, ...]]:
    """The user's own chats and the active chats whose tokens they hold."""
    return UserCall(
        "GET",
        "/api/v1/tca/messenger/chats",
        read.chats,
        token=user_token("oauth_token", oauth_token),
    )


def create_chat(
    app: TokenpassApp,
    oauth_token: str,
    name: str,
    tca_rules: Iterable[ChatRule],
    *,
    active: bool = True,
    global_: bool = False,
) -> Call[Chat]:
    """A new chat of the user's, open to whoever meets any one of ``tca_rules``."""
    return UserCall(
        "POST",
        "/api/v1/chats",
        whole(read.chat),
        json={
            "name": text("name", name),
            "active": flag("active", active),
            "global": flag("global_", global_),
            "tca_rules": chat_rules(tca_rules),
        },
        token=user_token("oauth_token", oauth_token),
    )


def get_chat(app: TokenpassApp, oauth_token: str, chat_id: str) -> Call[Chat]:
    """One of the user's chats."""
    return UserCall(
        "GET",
        path(_CHAT, chat_id=chat_id),
        whole(read.chat),
        token=user_token("oauth_token", oauth_token),
    )


def edit_chat(
    app: TokenpassApp,
    oauth_token: str,
    chat_id: str,
    *,
    name: Change[str] = UNCHANGED,
    active: Change[bool] = UNCHANGED,
    global_: Change[bool] = UNCHANGED,
    tca_rules: Change[Iterable[ChatRule]] = UNCHANGED,
) -> Call[Chat]:
    """Change one of the user's chats: its name, whether it is active or global, its rules."""
    fields = changes(
        "edit_chat",
        name=name if name is UNCHANGED else text("name", name),
        active=active if active is UNCHANGED else flag("active", active),
        **{"global": global_ if global_ is UNCHANGED else flag("global_", global_)},
        tca_rules=tca_rules if tca_rules is UNCHANGED else chat_rules(tca_rules),
    )
    return UserCall(
        "POST",
        path(_CHAT, chat_id=chat_id),
        whole(read.chat),
        json=fields,
        token=user_token("oauth_token", oauth_token),
    )


def delete_chat(app: TokenpassApp, oauth_token: str, chat_id: str) -> Call[None]:
    """Remove one of the user's chats."""
    return UserCall(
        "DELETE",
        path(_CHAT, chat_id=chat_id),
        done,
        done_if_gone=True,
        token=user_token("oauth_token", oauth_token),
    )


def join_chat(app: TokenpassApp, oauth_token: str, chat_id: str) -> Call[None]:
    """Put the user on an active chat whose tokens they hold (or on their own chat)."""
    return UserCall(
        "POST",
        path("/api/v1/tca/messenger/roster/{chat_id}", chat_id=chat_id),
        done,
        json={},
        token=user_token("oauth_token", oauth_token),
    )


def chat_rules(rules: Iterable[ChatRule]) -> list[dict[str, object]]:
    """``tca_rules`` as sent: ``{"token", "quantity"}`` each, quantities in base units."""
    if isinstance(rules, (str, ChatRule)) or not isinstance(rules, Iterable):
        raise InvalidArgumentError(
            f"tca_rules must be a list of ChatRule, not {type(rules).__name__}"
        )
    sent: list[dict[str, object]] = []
    for index, rule in enumerate(rules):
        where = f"tca_rules[{index}]"
        if not isinstance(rule, ChatRule):
            raise InvalidArgumentError(f"{where} must be a ChatRule, not {type(rule).__name__}")
        quantity = amount(f"{where}.quantity", rule.quantity, positive=False)
        if quantity < 0:
            raise InvalidArgumentError(f"{where}.quantity must not be negative, not {quantity}")
        sent.append({"token": text(f"{where}.token", rule.token), "quantity": quantity})
    return sent
