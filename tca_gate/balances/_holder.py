"""``Holder``: whose balances (an OAuth token, a username or some addresses) and which scope."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable
from enum import Enum
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

from tca_gate.errors import InvalidArgumentError, shorten

#: ``public`` counts public addresses only; ``protected`` every verified address.
Scope = Literal["public", "protected"]
BALANCE_SCOPES: tuple[Scope, ...] = get_args(Scope)

#: Turns a request into the holder whose balances the rule reads; ``None``: nobody.
IdentityResolver = Callable[["HTTPConnection"], "Holder | Awaitable[Holder | None] | None"]

_FINGERPRINT_HEX = 12


class HolderKind(Enum):
    """How a holder is named."""

    TOKEN = "oauth_token"  # noqa: S105 (the kind's name, not a secret)
    USERNAME = "username"
    ADDRESSES = "addresses"


#: The kinds as plain globals: reading an Enum member off its class is slow.
_TOKEN, _USERNAME, _ADDRESSES = HolderKind.TOKEN, HolderKind.USERNAME, HolderKind.ADDRESSES


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

    Immutable and hashable; built on every gated request, so built cheaply.
    """

    __slots__ = ("_hash", "key", "kind", "owner", "scope", "value")

    kind: HolderKind
    value: str | tuple[str, ...]
    scope: Scope
    owner: str | None
    #: The identity as a plain tuple (kind, value, scope): what caches key their answers by.
    key: tuple[str, str | tuple[str, ...], str]
    _hash: int

    def __init__(
        self,
        kind: HolderKind,
        value: str | tuple[str, ...],
        scope: Scope = "public",
        owner: str | None = None,
    ) -> None:
        if scope != "public" and scope != "protected":  # noqa: PLR1714 (hot path)
            raise InvalidArgumentError(
                f"holder scope must be 'public' or 'protected', not {shorten(repr(scope))}"
            )
        if kind is _USERNAME or kind is _TOKEN:
            if value.__class__ is not str:
                value = _plain_str(value, f"a holder's {kind.value}")
            if not value or value.isspace():
                raise InvalidArgumentError(f"a holder's {kind.value} must be a non-empty string")
            code = "u" if kind is _USERNAME else "t"
        elif kind is _ADDRESSES:
            value = _address_list(value)
            code = "a"
        else:
            raise InvalidArgumentError(f"holder kind must be a HolderKind, not {kind!r}")
        if owner is not None:
            if owner.__class__ is not str and isinstance(owner, str):
                owner = str.__str__(owner)
            if owner.__class__ is not str or not owner or owner.isspace():
                raise InvalidArgumentError(
                    f"a holder's owner must be a username or None, not {shorten(repr(owner))}"
                )
            if kind is not _TOKEN:
                raise InvalidArgumentError("only a token holder has an owner")
        _set_kind(self, kind)
        _set_value(self, value)
        _set_scope(self, scope)
        _set_owner(self, owner)
        key = (code, value, scope)  # hashed and compared in C, unlike an Enum member
        _set_key(self, key)
        _set_hash(self, hash(key))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Holder is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a Holder is immutable: cannot delete {name!r}")

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if other.__class__ is not Holder:
            return NotImplemented
        assert isinstance(other, Holder)
        return self.key == other.key

    def __reduce__(self) -> tuple[type[Holder], tuple[object, ...]]:
        return Holder, (self.kind, self.value, self.scope, self.owner)

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
        return Holder(self.kind, self.value, scope, self.owner)

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


#: Slot setters: ``Holder.__setattr__`` refuses every change, ``__init__`` uses these.
_Setter = Callable[[Holder, object], None]
_set_kind: _Setter = vars(Holder)["kind"].__set__
_set_value: _Setter = vars(Holder)["value"].__set__
_set_scope: _Setter = vars(Holder)["scope"].__set__
_set_owner: _Setter = vars(Holder)["owner"].__set__
_set_hash: _Setter = vars(Holder)["_hash"].__set__
_set_key: _Setter = vars(Holder)["key"].__set__


def _plain_str(value: object, what: str) -> str:
    """``value`` as a plain ``str`` (a ``str`` subclass, such as a ``StrEnum``, is taken
    as its text), or an ``InvalidArgumentError``."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a non-empty string")
    return str.__str__(value)


def _address_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, tuple) or not value:
        raise InvalidArgumentError("a holder's addresses must be a non-empty list of addresses")
    for address in value:
        if not isinstance(address, str) or not address.strip():
            raise InvalidArgumentError(
                f"every address must be a non-empty string, not {shorten(repr(address))}"
            )
    return tuple(sorted(set(value)))
