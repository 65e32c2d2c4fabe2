"""The ``strict`` dialect's stack reader: the documented rule language, with precise errors.

Every refusal is a ``RuleSyntaxError`` naming the key, where it is, what would
have been accepted and, where one is likely, the fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from tca_gate.errors import AmountError, RuleSyntaxError, shorten

from ._amounts import MAX_DIGITS, format_tokens, tokens_to_sat
from ._clause import OPERATORS, Clause, Op
from ._grammar import terminal
from ._stack import (
    Pair,
    StackNote,
    StackReading,
    ascii_upper,
    check_length,
    group_clauses,
    is_credential,
    split_query,
)

_FIRST_CLAUSE = ("ASSET=AMOUNT, e.g. LTBCOIN=10000",)
_OPERATOR_LIST = tuple(OPERATORS)
_LARGEST_INDEX_DIGITS = 9
_OPERATOR_TYPOS = {"=>": ">=", "=<": "<=", "<>": "!=", "=!": "!=", "≥": ">=", "≤": "<=", "≠": "!="}
ASSET_FORMS = (
    "an asset name (4 to 12 letters, BTC, XCP, A followed by digits, or PARENT.child)",
    "op_N",
    "stackop_N",
)


def read_strict_query(text: str, pairs: Sequence[Pair] | None = None) -> StackReading:
    """Read a query string in the strict dialect; any doubt is a ``RuleSyntaxError``.

    ``pairs`` (``split_query(text)``) may be passed to save parsing again.
    """
    check_length(text)
    try:
        return _StrictReader(text).read(split_query(text) if pairs is None else pairs)
    except RuleSyntaxError as error:
        error.text = text
        raise


def read_strict_pairs(pairs: Iterable[tuple[object, object]]) -> StackReading:
    """Read a mapping (or list of pairs) in the strict dialect, as if it were a query string."""
    text, read = render_pairs(pairs)
    check_length(text)
    try:
        return _StrictReader(text).read(read)
    except RuleSyntaxError as error:
        error.text = text
        raise


def render_pairs(
    pairs: Iterable[tuple[object, object]], value_text: Callable[[str, object], str] | None = None
) -> tuple[str, list[Pair]]:
    """A mapping as ``key=value&...`` text (errors and lint point into it), and its pairs.

    Values are written as the strict dialect reads them unless ``value_text`` says otherwise.
    """
    shown: list[str] = []
    read: list[Pair] = []
    offset = 0
    for index, (key, value) in enumerate(pairs):
        if not isinstance(key, str):
            raise RuleSyntaxError(
                f"rule keys must be str; entry {index} has key {shorten(repr(key))} "
                f"({type(key).__name__})"
            )
        text = (value_text or _strict_value_text)(key, value)
        read.append(Pair(key, text, offset, offset + len(key) + 1, len(key), len(text)))
        shown.append(f"{key}={text}")
        offset += len(shown[-1]) + 1
    return "&".join(shown), read


def _strict_value_text(key: str, value: object) -> str:
    """The text a mapping value stands for: str as written, int and Decimal as exact tokens."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        advice = " (floats are inexact: pass a str or Decimal)" if isinstance(value, float) else ""
        raise RuleSyntaxError(
            f"the value of {shorten(key)} must be a str, int or Decimal, "
            f"not {type(value).__name__}{advice}",
            key=key,
        )
    if isinstance(value, Decimal) and not value.is_finite():
        raise RuleSyntaxError(f"the amount of {shorten(key)} is {value}, not a number", key=key)
    if value < 0:
        raise RuleSyntaxError(
            f"the amount of {shorten(key)} is negative; a rule cannot ask for a negative balance",
            key=key,
        )
    try:
        sat = tokens_to_sat(value)
    except AmountError as error:
        raise RuleSyntaxError(f"the amount of {shorten(key)}: {error}", key=key) from None
    return format_tokens(sat, grouping=False)


class _StrictReader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.clauses: list[Clause] = []
        self.ops: dict[int, tuple[Op, Pair]] = {}
        self.stackops: dict[int, tuple[str, Pair]] = {}
        self.seen: dict[str, Pair] = {}
        self.notes: list[StackNote] = []

    def read(self, pairs: Sequence[Pair]) -> StackReading:
        if not self.text.strip():
            raise RuleSyntaxError("the rule is empty", expected=_FIRST_CLAUSE)
        for number, pair in enumerate(pairs):
            self._read_pair(pair, number, len(pairs))
        count = len(self.clauses)
        if not count:
            raise RuleSyntaxError("the rule has no clauses", expected=_FIRST_CLAUSE)
        for kind, entries in (("op", self.ops), ("stackop", self.stackops)):
            for index, (_, pair) in entries.items():
                if index >= count:
                    raise self._error(
                        f"{shorten(pair.key)} refers to clause {index}, but the rule has "
                        f"{_clauses(count)} (numbered from 0)",
                        pair,
                        expected=tuple(f"{kind}_{i}" for i in range(min(count, 5))),
                    )
        clauses = [
            Clause(c.asset, c.amount, self.ops[i][0] if i in self.ops else Op.GE, c.position)
            for i, c in enumerate(self.clauses)
        ]
        or_at = {i for i, (stackop, _) in self.stackops.items() if stackop == "OR"}
        return StackReading(group_clauses(clauses, or_at), self.text, tuple(self.notes))

    def _error(
        self,
        message: str,
        pair: Pair,
        *,
        at_value: bool = False,
        expected: Sequence[str] = (),
        hint: str | None = None,
    ) -> RuleSyntaxError:
        return RuleSyntaxError(
            message,
            text=self.text,
            position=pair.value_position if at_value else pair.position,
            length=(pair.raw_value_length if at_value else pair.raw_key_length),
            key=pair.key or None,
            expected=expected,
            hint=hint,
        )

    def _read_pair(self, pair: Pair, number: int, total: int) -> None:
        key, value = pair.key, pair.value
        if not key and value is None:
            where = (
                "the rule starts with '&'"
                if number == 0
                else "the rule ends with '&'"
                if number == total - 1
                else "two '&' in a row"
            )
            raise self._error(f"empty entry: {where}", pair, expected=("ASSET=AMOUNT",))
        if not key:
            raise self._error("a value with no key before its '='", pair, expected=ASSET_FORMS)
        previous = self.seen.get(key)
        if previous is not None:
            setting = terminal("OP_KEY").fullmatch(key) or terminal("STACKOP_KEY").fullmatch(key)
            raise self._error(
                f"{shorten(key)} appears twice (first at character {previous.position}); "
                "a query string keeps only the last value, so the first would be lost",
                pair,
                hint=None
                if setting
                else "to test an asset in two clauses, write its name in another case "
                "(LTBCOIN, then ltbcoin) or use a readable expression",
            )
        self.seen[key] = pair
        if terminal("OP_KEY").fullmatch(key):
            self._read_op(pair, _index(key))
        elif terminal("STACKOP_KEY").fullmatch(key):
            self._read_stackop(pair, _index(key))
        else:
            self._read_clause(pair)

    def _refuse_repeat(self, set_before: Pair | None, pair: Pair, what: str, index: int) -> None:
        if set_before is not None:
            raise self._error(
                f"{shorten(pair.key)} sets the {what} of clause {index} again "
                f"(first by {shorten(set_before.key)})",
                pair,
            )

    def _read_op(self, pair: Pair, index: int) -> None:
        previous = self.ops.get(index)
        self._refuse_repeat(previous[1] if previous else None, pair, "operator", index)
        value = pair.value
        if value is None or not terminal("OPERATOR").fullmatch(value):
            shown = _shown(value)
            typo = _OPERATOR_TYPOS.get((value or "").strip())
            glued = re.search(r"(?:op|stackop)_[0-9]+=", value or "", re.IGNORECASE)
            hint = f"did you mean {typo}?" if typo else None
            if glued:
                hint = f"a '&' seems to be missing before {glued.group()[:-1]}"
            raise self._error(
                f"{shorten(pair.key)} must be an operator, not {shown}",
                pair,
                at_value=value is not None,
                expected=_OPERATOR_LIST,
                hint=hint,
            )
        self.ops[index] = (OPERATORS[value], pair)

    def _read_stackop(self, pair: Pair, index: int) -> None:
        previous = self.stackops.get(index)
        self._refuse_repeat(previous[1] if previous else None, pair, "stack operator", index)
        value = pair.value
        if value is None or not terminal("STACKOP").fullmatch(value):
            shown = _shown(value)
            raise self._error(
                f"{shorten(pair.key)} must be AND or OR, not {shown}",
                pair,
                at_value=value is not None,
                expected=("AND", "OR"),
                hint="write it without spaces" if value and value.strip() != value else None,
            )
        if index == 0:
            self.notes.append(
                StackNote(
                    "stackop-0",
                    f"{shorten(pair.key)} has no effect: clause 0 always starts the first group",
                    pair.position,
                )
            )
        self.stackops[index] = (value.upper(), pair)

    def _read_clause(self, pair: Pair) -> None:
        key = pair.key
        if is_credential(key):
            raise self._error(
                f"{shorten(key)} is a credential or transport parameter, not part of a rule",
                pair,
                hint=f"pass {shorten(key)} separately from the rule",
            )
        asset = strict_asset(key)
        if asset is None:
            raise self._error(
                f"{shorten(key)!r} is not {asset_problem(key)}",
                pair,
                expected=ASSET_FORMS,
                hint=_key_hint(key),
            )
        if pair.value is None:
            raise self._error(
                f"{shorten(key)} has no amount",
                pair,
                expected=(f"{shorten(key)}=AMOUNT, e.g. {shorten(key)}=1",),
                hint="a bare asset name is not a rule; write the amount it needs",
            )
        amount = strict_amount(pair.value)
        if amount is None:
            problem, hint = amount_problem(pair.value)
            if key.lower() in ("op", "stackop"):  # op / stackop with no clause index
                hint = f"did you mean {key.lower()}_N, with N the clause it applies to?"
            raise self._error(
                f"the amount of {shorten(key)} must be a plain decimal number, not {problem}",
                pair,
                at_value=True,
                expected=AMOUNT_EXPECTED,
                hint=hint,
            )
        self.clauses.append(Clause(asset, amount, position=pair.position))


def _shown(value: str | None) -> str:
    return "nothing" if not value else repr(shorten(value))


def _index(key: str) -> int:
    """N of ``op_N`` / ``stackop_N``; absurdly long numbers name no clause either way."""
    digits = key.partition("_")[2].lstrip("0") or "0"
    return int(digits) if len(digits) <= _LARGEST_INDEX_DIGITS else 10**_LARGEST_INDEX_DIGITS


def _clauses(count: int) -> str:
    return "1 clause" if count == 1 else f"{count} clauses"


# ----------------------------------------------------- shared by the strict forms


def strict_asset(name: str) -> str | None:
    """The canonical form of a Counterparty asset name, or ``None`` when it is not one."""
    if terminal("NATIVE_ASSET").fullmatch(name) or terminal("NAMED_ASSET").fullmatch(name):
        return name.upper()
    if terminal("NUMERIC_ASSET").fullmatch(name):
        return name.upper()
    if terminal("SUBASSET").fullmatch(name) and not name.endswith(".") and ".." not in name:
        parent, _, child = name.partition(".")
        return f"{parent.upper()}.{child}"
    return None


def canonical_asset(name: str) -> str:
    """An asset name as strict rules write it: ``ltbcoin.Gold`` → ``LTBCOIN.Gold``.

    A Counterparty asset name is canonicalised by ``strict_asset``, as strict rules
    read it. Any other key (``foo``, ``ltbcoin_gold``: assets that only the tokenpass
    dialect reads) is not refused: it is upper-cased the same way, ASCII letters only,
    up to any '.'.

    >>> canonical_asset("ltbcoin.Gold"), canonical_asset("ltbcoin_gold")
    ('LTBCOIN.Gold', 'LTBCOIN_GOLD')
    """
    asset = strict_asset(name)
    if asset is not None:
        return asset
    parent, dot, child = name.partition(".")
    return ascii_upper(parent) + dot + child


def asset_problem(name: str) -> str:
    """Why ``name`` is not an asset name, as the end of "… is not …"."""
    parent, dot, child = name.partition(".")
    if dot and terminal("NATIVE_ASSET").fullmatch(parent):
        return f"an asset name: {parent.upper()} has no subassets"
    if dot and strict_asset(parent) is not None:
        if not child or ".." in name or name.endswith("."):
            return "a subasset name: it has no '..' and does not end with '.'"
        return "a subasset name: the part after the '.' takes letters, digits and . - _ @ !"
    if parent.isalpha() and parent.isascii():
        letters = f"{shorten(parent)} has {len(parent)}"
        return f"an asset name: named assets have 4 to 12 letters ({letters})"
    return "an asset name: asset names are letters (4 to 12), BTC, XCP, or A followed by digits"


def _key_hint(key: str) -> str | None:
    lowered = key.lower()
    if any(mark in key for mark in " <>!") or lowered.endswith((" and", " or")):
        return "readable expressions join comparisons with 'and' / 'or', not '&'"
    digits = re.search(r"[0-9]+", key)
    index = digits.group() if digits else "1"
    candidates = [f"op_{index}", f"stackop_{index}"]
    squashed = re.sub(r"[^a-z]", "", lowered)
    if squashed.startswith(("stackop", "stack")):
        return f"did you mean stackop_{index}?"
    if squashed.startswith("op") and len(squashed) <= 3:
        return f"did you mean op_{index}?"
    close = difflib.get_close_matches(lowered, candidates, n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else None


AMOUNT_EXPECTED = ("a decimal amount of tokens with at most 8 decimal places, e.g. 10000 or 0.5",)


def strict_amount(value: str) -> int | None:
    """A strict amount (plain decimal, at most 8 places) in base units, or ``None``."""
    if not terminal("AMOUNT").fullmatch(value):
        return None
    whole, _, fraction = value.partition(".")
    if len(whole) > MAX_DIGITS:
        return None
    return int(whole) * 100_000_000 + int(fraction.ljust(8, "0") or "0")


def amount_problem(value: str) -> tuple[str, str | None]:
    """What is wrong with an amount the strict dialect refused, and how to write it instead."""
    stripped = value.strip()
    shown = repr(shorten(value))
    if not stripped:
        return "nothing", None
    if stripped != value:
        return f"{shown}, which has spaces", f"write {shorten(stripped)}"
    if len(stripped.partition(".")[0]) > MAX_DIGITS and stripped.replace(".", "", 1).isdigit():
        return f"an amount with more than {MAX_DIGITS} digits before the decimal point", None
    if stripped[0] == "-":
        return f"{shown}: amounts have no sign; a rule cannot ask for a negative balance", None
    if stripped[0] == "+":
        return f"{shown}: amounts have no sign", f"write {shorten(stripped[1:])}"
    if re.fullmatch(r"[0-9]*\.[0-9]{9,}", stripped):
        return f"{shown}, which has more than 8 decimal places (1 satoshi is 0.00000001)", None
    if re.fullmatch(r"[0-9]+\.", stripped):
        return f"{shown}: a decimal point needs digits after it", f"write {shorten(stripped[:-1])}"
    if re.fullmatch(r"[0-9][0-9,_ ']*(\.[0-9]*)?", stripped):
        plain = re.sub(r"[,_ ']", "", stripped)
        return f"{shown}: amounts take no digit separators", f"write {shorten(plain)}"
    if re.fullmatch(r"[0-9]*\.?[0-9]+[eE][+-]?[0-9]{1,2}", stripped):
        return f"{shown}: amounts take no exponent", f"write {format(Decimal(stripped), 'f')}"
    if re.fullmatch(r"\.[0-9]+", stripped):
        return f"{shown}: an amount starts with a digit", f"write 0{stripped}"
    return shown, None
