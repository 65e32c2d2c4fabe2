"""Balances from JSON (``--balances``) or TOML (a test file) to exact base units per asset."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from typing import Any, Literal

from tca_gate.errors import shorten
from tca_gate.rules import (
    MAX_DIGITS,
    SATOSHIS_PER_TOKEN,
    Rule,
    canonical_asset,
    tokens_to_sat,
)

from ._echo import ECHO_LIMIT, clip_path, integer_text, quoted, reason
from ._input import read_limited

#: Balances are below 10^MAX_DIGITS tokens (``MAX_DIGITS`` digits before the point, the
#: package's own limit on amounts): no asset comes near it, and it keeps ``1e999999``
#: from turning into a million-digit integer.
_MAX_TOKENS: int = 10**MAX_DIGITS
_MAX_SAT = _MAX_TOKENS * SATOSHIS_PER_TOKEN
_TOO_LARGE = f"more than any asset's supply (a balance must be under 10^{MAX_DIGITS} tokens)"
_INTEGER = re.compile(r"-?[0-9]+")
_BARE_TOML_KEY = re.compile(r"[A-Za-z0-9_-]+")
_NOT_AMOUNTS = frozenset({"inf", "+inf", "-inf", "nan", "+nan", "-nan"})
#: A byte order mark, which some Windows editors put at the start of a UTF-8 file.
BOM = "\ufeff"

#: Where balances come from, which decides how a problem with them is worded.
BalancesSource = Literal["json", "toml"]
#: How the user asked for base units, in each source.
_SAT_FLAG: dict[BalancesSource, str] = {"json": "--sat", "toml": "sat = true"}


class BalancesError(ValueError):
    """A balance sheet that cannot be read exactly; the message names the asset."""


def balances_from_mapping(
    amounts: Mapping[str, object], *, sat: bool, source: BalancesSource
) -> dict[str, int]:
    """Asset → amount (tokens, or base units when ``sat``) to asset → exact base units.

    ``source`` is what the balances were written in (``--balances`` JSON or a TOML
    test file), so that a problem is told in that language.
    """
    balances: dict[str, int] = {}
    written: dict[str, str] = {}
    for key, value in amounts.items():
        if not key:
            raise BalancesError("an asset name is empty")
        asset = canonical_asset(key)
        if asset in written:
            first, second = shorten(written[asset], ECHO_LIMIT), shorten(key, ECHO_LIMIT)
            raise BalancesError(
                f"{first} and {second} both name the asset {shorten(asset, ECHO_LIMIT)}"
            )
        written[asset] = key
        balances[asset] = _amount(key, value, sat=sat, source=source)
    return balances


@dataclass(frozen=True, slots=True)
class TomlFloat:
    """A TOML float, kept as written so that it can be refused with its own text."""

    text: str


@dataclass(frozen=True, slots=True)
class LongInteger:
    """A JSON integer with more digits than any amount, kept unconverted.

    Converting a long run of digits takes time quadratic in its length, and past 4300
    digits Python refuses; no amount has more than ``ECHO_LIMIT`` digits anyway.
    """

    digits: int


def _json_integer(text: str) -> int | LongInteger:
    digits = len(text.lstrip("-"))
    return LongInteger(digits) if digits > ECHO_LIMIT else int(text)


def _amount(asset: str, value: object, *, sat: bool, source: BalancesSource) -> int:
    what = f"the balance of {shorten(asset, ECHO_LIMIT)}"
    if isinstance(value, TomlFloat):
        text = shorten(value.text, ECHO_LIMIT)
        if value.text in _NOT_AMOUNTS:
            raise BalancesError(
                f"{what} is {text}, which is not an amount: a balance is a finite "
                'number, such as 10 or "0.5"'
            )
        if sat:
            raise BalancesError(f"{what} is the TOML float {text}; base units are whole numbers")
        raise BalancesError(
            f"{what} is the TOML float {text}, which TOML readers take as an inexact "
            f'binary float: quote it, {_toml_key(asset)} = "{text}"'
        )
    if isinstance(value, LongInteger):
        raise BalancesError(f"{what} is an integer of {value.digits} digits, {_TOO_LARGE}")
    not_amount = f"{what} must be a number or a decimal string, not"
    if isinstance(value, Mapping):
        if source == "json":
            raise BalancesError(f"{not_amount} an object")
        # TOML reads `PEPE.x = 1` as the table PEPE = {x = 1}.
        raise BalancesError(
            f'{not_amount} a table (to name a subasset in TOML, quote it: "PEPE.x" = 1)'
        )
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise BalancesError(f"{not_amount} {kind_of(value)}")
    if sat:
        if isinstance(value, str) and _INTEGER.fullmatch(value):
            sign, significant = value[: value.startswith("-")], value.lstrip("-").lstrip("0")
            if len(significant) > ECHO_LIMIT:
                raise BalancesError(
                    f"{what} is a string of an integer of {len(significant)} digits, {_TOO_LARGE}"
                )
            value = int(sign + (significant or "0"))  # leading zeros count towards int's limit
        if not isinstance(value, int):
            flag = _SAT_FLAG[source]
            raise BalancesError(
                f"{what} is {_show(value)}, not a whole number of base units "
                f"({flag} amounts are integers; drop {flag} to give tokens)"
            )
        amount = value
    else:
        if _too_many_digits(value):  # refused before it is converted, and in the same words
            raise BalancesError(f"{what} is {_show(value)}, {_TOO_LARGE}")
        try:
            amount = tokens_to_sat(value)
        except (ValueError, DecimalException) as error:
            raise BalancesError(f"{what}: {error}") from None
    if abs(amount) >= _MAX_SAT:
        raise BalancesError(f"{what} is {_show(value)}, {_TOO_LARGE}")
    return amount


def _too_many_digits(tokens: int | str | Decimal) -> bool:
    """Whether a token amount has more than ``MAX_DIGITS`` digits before its point."""
    if isinstance(tokens, int):
        return abs(tokens) >= _MAX_TOKENS
    if isinstance(tokens, Decimal):
        return tokens.is_finite() and tokens != 0 and tokens.adjusted() >= MAX_DIGITS
    return False  # text: tokens_to_sat counts its digits before converting it


def _show(value: object) -> str:
    """An amount as written, cut short, for "the balance of X is ..."."""
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, int):
        digits = integer_text(value)
        return digits if digits is not None else f"an integer of more than {ECHO_LIMIT} digits"
    return shorten(str(value), ECHO_LIMIT)


def _toml_key(key: str) -> str:
    """``key`` as it would be written on the left of ``=`` in TOML, cut short."""
    written = key if _BARE_TOML_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)
    return shorten(written, ECHO_LIMIT)


def kind_of(value: object) -> str:
    """What a JSON or TOML value is, for error messages; any value shown is cut short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {quoted(value)}"
    if isinstance(value, int):
        digits = integer_text(value)
        if digits is None:
            return f"an integer of more than {ECHO_LIMIT} digits"
        return f"the integer {digits}"
    if isinstance(value, LongInteger):
        return f"an integer of {value.digits} digits"
    if isinstance(value, Decimal):
        return f"the number {shorten(str(value), ECHO_LIMIT)}"
    if isinstance(value, TomlFloat):
        return f"the float {shorten(value.text, ECHO_LIMIT)}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"the {type(value).__name__} {shorten(str(value), ECHO_LIMIT)}"


def read_balances(argument: str, *, sat: bool) -> dict[str, int]:
    """``--balances``: inline JSON, ``@path`` or ``@-`` (stdin, UTF-8 like a file; either
    at most ``MAX_INPUT`` bytes), to exact base units."""
    if argument.startswith("@"):
        source = argument[1:]
        where = "stdin" if source == "-" else clip_path(source)
        try:
            text = read_limited(source, f"--balances @{clip_path(source)}").decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise BalancesError(f"cannot read balances from {where}: {reason(error)}") from None
    else:
        text, where = argument, "--balances"
    text = text.removeprefix(BOM)
    if not text.strip():
        raise BalancesError(
            f"{where} is empty: give a JSON object of asset to amount, e.g. "
            '{"LTBCOIN": "0.5"}, or {} for no balances'
        )
    try:
        document = json.loads(
            text,
            parse_float=Decimal,
            parse_int=_json_integer,
            parse_constant=Decimal,  # NaN and Infinity: refused with the asset's name
            object_pairs_hook=_unique_keys,
        )
    except BalancesError:
        raise
    except RecursionError:
        raise BalancesError(
            f"{where} nests arrays or objects too deeply to read; balances are one flat "
            'JSON object of asset to amount, e.g. {"LTBCOIN": "0.5"}'
        ) from None
    except ValueError as error:
        raise BalancesError(f"{where} is not valid JSON: {reason(error)}") from None
    if not isinstance(document, dict):
        raise BalancesError(
            f'{where} must be a JSON object of asset to amount, e.g. {{"LTBCOIN": "0.5"}}, '
            f"not {kind_of(document)}"
        )
    return balances_from_mapping(document, sat=sat, source="json")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise BalancesError(f"{shorten(key, ECHO_LIMIT)} appears twice in the balances")
        found[key] = value
    return found


def typo_warnings(rule: Rule, balances: Mapping[str, int]) -> list[str]:
    """Balances the rule never reads whose names are close to an asset it reads but lacks.

    Either name may be the misspelt one, so the warning blames neither.
    """
    lacking = [asset for asset in rule.assets if asset not in balances]
    found = []
    for asset in balances:
        if asset in rule.assets:
            continue
        close = difflib.get_close_matches(asset, lacking, n=1, cutoff=0.75)
        if close:
            held, read = shorten(asset, ECHO_LIMIT), shorten(close[0], ECHO_LIMIT)
            found.append(
                f"the balances hold {held}, which the rule does not read "
                f"(it reads {read}: a typo in one of them?)"
            )
    return found
