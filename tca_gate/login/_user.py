"""``TokenpassUser``: who logged in, as Tokenpass's ``/oauth/user`` describes them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TokenpassUser:
    """A Tokenpass account: ``id`` (as text), ``username``, ``email``, ``name`` and
    whether Tokenpass has confirmed the email address.

    >>> user = TokenpassUser.from_json(
    ...     {"id": 7, "username": "alice", "email": "a@example.com", "name": "Alice",
    ...      "email_is_confirmed": True})
    >>> user.id, user.username, user.email_is_confirmed
    ('7', 'alice', True)
    """

    id: str
    username: str
    email: str | None
    name: str | None
    email_is_confirmed: bool

    @classmethod
    def from_json(cls, data: object) -> TokenpassUser:
        """Read ``/oauth/user``'s answer or the session's copy; ``ValueError`` names a bad field."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a user must be a JSON object, not {type(data).__name__}")
        user_id = data.get("id")
        if isinstance(user_id, bool) or not isinstance(user_id, str | int) or user_id == "":
            raise ValueError(f"user 'id' must be a non-empty string or an integer, not {user_id!r}")
        username = data.get("username")
        if not isinstance(username, str) or not username:
            raise ValueError(f"user 'username' must be a non-empty string, not {username!r}")
        confirmed = data.get("email_is_confirmed")
        if not isinstance(confirmed, bool):
            raise ValueError(f"user 'email_is_confirmed' must be true or false, not {confirmed!r}")
        return cls(
            id=str(user_id),
            username=username,
            email=_optional_text(data, "email"),
            name=_optional_text(data, "name"),
            email_is_confirmed=confirmed,
        )

    def to_json(self) -> dict[str, Any]:
        """The user as a JSON object (the shape kept in the session)."""
        return asdict(self)


def _optional_text(data: Mapping[str, object], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"user {key!r} must be a string or null, not {value!r}")
    return value
