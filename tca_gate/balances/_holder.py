"""``Holder``: whose balances (an OAuth token, a username or some addresses) and which scope."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Literal, get_args

from tca_gate._errors import InvalidArgumentError, shorten

#: ``public`` counts public addresses only; ``protected`` every verified address.
Scope = Literal["public", "protected"]
SCOPES: tuple[Scope, ...] = get_args(Scope)

_FINGERPRINT_HEX = 12


class HolderKind(Enum):
    """How a holder is named."""

    TOKEN = "oauth_token"  # noqa: S105 (the kind's name, not a secret)
    USERNAME = "username"
    ADDRESSES = "addresses"


@dataclass(frozen=True, slots=True, repr=False)
class Holder:
    """A cache key and source question: kind, value and scope; its repr never shows a token.

    ``owner``, for a token, is the username it belongs to when known (the login
    session knows it): caches use it to forget the token's answers when that user's
    balances change. It is not part of the key: two holders with one token are equal.

    >>> Holder.user("alice")
    Holder.user('alice', scope='public')
    >>> Holder.addresses(["1B", "1A", "1B"]).value
    ('1A', '1B')
    >>> "secret" in repr(Holder.token("secret", "protected"))
    False
    >>> Holder.token("secret", owner="alice") == Holder.token("secret")
    True
    """

    kind: HolderKind
    value: str | tuple[str, ...]
    scope: Scope = "public"
    owner: str | None = field(default=None, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, HolderKind):
            raise InvalidArgumentError(f"holder kind must be a HolderKind, not {self.kind!r}")
        if self.scope not in SCOPES:
            raise InvalidArgumentError(
                f"holder scope must be 'public' or 'protected', not {shorten(repr(self.scope))}"
            )
        if self.kind is HolderKind.ADDRESSES:
            object.__setattr__(self, "value", _address_list(self.value))
        elif not isinstance(self.value, str) or not self.value.strip():
            raise InvalidArgumentError(f"a holder's {self.kind.value} must be a non-empty string")
        if self.owner is not None and (not isinstance(self.owner, str) or not self.owner.strip()):
            raise InvalidArgumentError(
                f"a holder's owner must be a username or None, not {shorten(repr(self.owner))}"
            )
        if self.owner is not None and self.kind is not HolderKind.TOKEN:
            raise InvalidArgumentError("only a token holder has an owner")

    @classmethod
    def token(cls, oauth_token: str, scope: Scope = "public", owner: str | None = None) -> Holder:
        """The user an OAuth token belongs to (``protected`` needs ``private-balances``);
        ``owner`` is that user's name, when known."""
        return cls(HolderKind.TOKEN, oauth_token, scope, owner)

    @classmethod
    def user(cls, username: str, scope: Scope = "public") -> Holder:
        """A user by name."""
        return cls(HolderKind.USERNAME, username, scope)

    @classmethod
    def addresses(cls, addresses: Iterable[str], scope: Scope = "public") -> Holder:
        """Whoever holds these addresses, their balances summed; order and repeats don't matter."""
        if isinstance(addresses, str):
            raise InvalidArgumentError("addresses must be a list of addresses, not one string")
        return cls(HolderKind.ADDRESSES, tuple(addresses), scope)

    def in_scope(self, scope: Scope) -> Holder:
        """The same identity in ``scope``."""
        return replace(self, scope=scope)

    def __repr__(self) -> str:
        if self.kind is HolderKind.TOKEN:
            digest = hashlib.sha256(str(self.value).encode()).hexdigest()[:_FINGERPRINT_HEX]
            shown = f"<sha256 {digest}>"
        else:
            shown = repr(self.value)
        method = {HolderKind.TOKEN: "token", HolderKind.USERNAME: "user"}.get(
            self.kind, "addresses"
        )
        owner = "" if self.owner is None else f", owner={self.owner!r}"
        return f"Holder.{method}({shown}, scope={self.scope!r}{owner})"


def _address_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, tuple) or not value:
        raise InvalidArgumentError("a holder's addresses must be a non-empty list of addresses")
    for address in value:
        if not isinstance(address, str) or not address.strip():
            raise InvalidArgumentError(
                f"every address must be a non-empty string, not {shorten(repr(address))}"
            )
    return tuple(sorted(set(value)))
