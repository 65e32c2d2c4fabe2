"""``StaticBalances``: fixed balances from a mapping or a JSON file, for tests and offline use.

The format (every section optional; amounts are JSON integers of satoshis, 1 token =
100000000; a scope a user leaves out holds nothing)::

    {
      "users": {"alice": {"public": {"TOKENLY": 200000000},
                          "protected": {"TOKENLY": 200000000, "LTBCOIN": 300000000000}}},
      "tokens": {"alice-oauth-token": "alice"},
      "addresses": {"12Fengv9kjnt69gb27oXESKnURwBfs9P34": {"TOKENLY": 200000000}}
    }

A token names a user; an address list is the sum of its addresses, in either scope.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import NoReturn

from tca_gate.errors import BalanceFileError, UnknownHolderError, shorten

from ._holder import BALANCE_SCOPES, Holder, HolderKind
from ._source import summed

_SECTIONS = ("users", "tokens", "addresses")
_MAPPING_ORIGIN = "static balances"

Held = Mapping[str, int]


class StaticBalances:
    """A ``BalanceSource`` answering from fixed data, checked whole when it is built.

    >>> import asyncio
    >>> source = StaticBalances({"users": {"alice": {"public": {"TOKENLY": 100000000}}}})
    >>> dict(asyncio.run(source.balances(Holder.user("alice"))))
    {'TOKENLY': 100000000}
    """

    def __init__(self, holdings: Mapping[str, object] | str | os.PathLike[str]) -> None:
        data: object
        if isinstance(holdings, Mapping):
            origin, data = _MAPPING_ORIGIN, holdings
        else:
            origin, data = str(holdings), _load(Path(holdings))
        self.origin = origin
        self._users, self._tokens, self._addresses = _Checker(origin).document(data)

    def __repr__(self) -> str:
        return f"StaticBalances({self.origin!r})"

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        """The holder's balances; ``UnknownHolderError`` for a name the data lacks."""
        if holder.kind is HolderKind.ADDRESSES:
            unknown = [address for address in holder.value if address not in self._addresses]
            if unknown:
                raise UnknownHolderError(f"no static balances for address {unknown[0]}")
            return MappingProxyType(summed(self._addresses[address] for address in holder.value))
        username = str(holder.value)
        if holder.kind is HolderKind.TOKEN:
            if username not in self._tokens:
                raise UnknownHolderError(f"no static balances for {holder!r}")
            username = self._tokens[username]
        if username not in self._users:
            raise UnknownHolderError(f"no static balances for user {shorten(username)}")
        return self._users[username].get(holder.scope, MappingProxyType({}))


def _load(path: Path) -> object:
    origin = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BalanceFileError(origin, "", "no such file") from None
    except UnicodeDecodeError as error:
        raise BalanceFileError(origin, "", f"not UTF-8 text ({error.reason})") from None
    except OSError as error:
        raise BalanceFileError(origin, "", f"cannot be read ({error.strerror})") from None
    try:
        return json.loads(
            text, object_pairs_hook=_no_repeats(origin), parse_constant=_no_constant(origin)
        )
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise BalanceFileError(origin, where, f"not JSON ({error.msg})") from None


def _no_repeats(origin: str) -> Callable[[list[tuple[str, object]]], dict[str, object]]:
    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        found: dict[str, object] = {}
        for key, value in items:
            if key in found:
                raise BalanceFileError(origin, "", f"the key {shorten(key)!r} appears twice")
            found[key] = value
        return found

    return pairs


def _no_constant(origin: str) -> Callable[[str], NoReturn]:
    def refuse(name: str) -> NoReturn:
        raise BalanceFileError(origin, "", f"{name} is not an amount")

    return refuse


class _Checker:
    """Reads the document into read-only tables, naming the entry of any mistake."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, where: str, problem: str) -> BalanceFileError:
        return BalanceFileError(self.origin, where, problem)

    def mapping(self, value: object, where: str) -> Mapping[str, object]:
        if not isinstance(value, Mapping):
            raise self.fail(where, f"expected an object, found {type(value).__name__}")
        for key in value:
            if not isinstance(key, str) or not key:
                raise self.fail(where, f"keys must be non-empty strings, not {key!r}")
        return value

    def document(
        self, value: object
    ) -> tuple[dict[str, dict[str, Held]], dict[str, str], dict[str, Held]]:
        data = self.mapping(value, "")
        extra = sorted(set(data) - set(_SECTIONS))
        if extra:
            raise self.fail(extra[0], "unknown section; expected users, tokens or addresses")
        users = {
            name: self.user(scopes, f"users.{name}")
            for name, scopes in self.mapping(data.get("users", {}), "users").items()
        }
        tokens: dict[str, str] = {}
        named = self.mapping(data.get("tokens", {}), "tokens")
        for index, (token, name) in enumerate(named.items()):
            if name not in users:
                raise self.fail(f"tokens[{index}]", f"names {shorten(repr(name))}, not a user")
            tokens[token] = str(name)
        addresses = {
            address: self.held(held, f"addresses.{address}")
            for address, held in self.mapping(data.get("addresses", {}), "addresses").items()
        }
        return users, tokens, addresses

    def user(self, value: object, where: str) -> dict[str, Held]:
        scopes = self.mapping(value, where)
        for scope in scopes:
            if scope not in BALANCE_SCOPES:
                raise self.fail(f"{where}.{scope}", "unknown scope; expected public or protected")
        return {scope: self.held(held, f"{where}.{scope}") for scope, held in scopes.items()}

    def held(self, value: object, where: str) -> Held:
        amounts: dict[str, int] = {}
        for asset, amount in self.mapping(value, where).items():
            if not isinstance(amount, int) or isinstance(amount, bool):
                raise self.fail(
                    f"{where}.{asset}",
                    f"expected an integer number of satoshis, found {type(amount).__name__} "
                    f"{shorten(repr(amount))}",
                )
            amounts[asset] = amount
        return MappingProxyType(amounts)
