"""The TOML test-file format: a file read and checked into a ``Suite`` of ``Case``s."""

from __future__ import annotations

import difflib
import re
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tca_gate.errors import shorten
from tca_gate.rules import Dialect

from ._balances import BOM, BalancesError, TomlFloat, balances_from_mapping, kind_of
from ._echo import ECHO_LIMIT, clip_path, name_list, quoted, reason
from ._input import read_limited
from ._status import EXIT_USAGE, CliError

_FILE_KEYS = ("dialect", "sat", "rules", "case")
_CASE_KEYS = ("name", "rule", "uses", "balances", "sat", "dialect", "expect")
_EXPECTATIONS = {"allow": True, "deny": False}


@dataclass(frozen=True, slots=True)
class Case:
    """One ``[[case]]`` of a test file, read and checked, its balances in base units."""

    number: int
    name: str
    rule_text: str
    uses: str | None
    dialect: Dialect
    balances: dict[str, int]
    expect_allowed: bool


@dataclass(frozen=True, slots=True)
class Suite:
    """A test file, read and checked: its named rules, default dialect, and cases."""

    path: str
    rules: dict[str, str]
    dialect: Dialect
    cases: list[Case]


def load_test_file(path: str) -> Suite:
    """Read and check a test file; ``CliError`` (exit 2) naming the case and field if malformed."""
    document, fail, rules, dialect = _read_head(path)
    sat = _bool_field(document, "sat", False, lambda p: fail("sat", p))
    entries = document.get("case")
    if entries is None:
        raise fail("case", "the file has no [[case]] entries, so it would test nothing")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise fail("case", "cases are written as [[case]] tables")
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        case = _read_case(number, entry, rules=rules, file_dialect=dialect, file_sat=sat, fail=fail)
        if case.name in seen:
            raise fail(
                f"case {number}",
                f"name {quoted(case.name)} is already the name of case {seen[case.name]}",
            )
        seen[case.name] = number
        cases.append(case)
    return Suite(path, rules, dialect, cases)


def load_rule_set(path: str) -> tuple[dict[str, str], Dialect]:
    """A test file's ``[rules]`` table and dialect (for ``audit``); its cases are not read.

    ``CliError`` (exit 2) as ``load_test_file`` raises it, and when there are no rules.
    """
    _, fail, rules, dialect = _read_head(path)
    if not rules:
        raise fail("rules", 'no rules: write a [rules] table of name = "rule text"')
    return rules, dialect


def _read_head(
    path: str,
) -> tuple[dict[str, object], Callable[[str, str], CliError], dict[str, str], Dialect]:
    """A test file read: the document, its ``fail`` (an exit-2 error naming the file and
    the field), its checked ``[rules]`` table and its dialect; unknown keys refused."""
    shown = clip_path(path)
    document = _read_toml(path, shown)

    def fail(where: str, problem: str) -> CliError:
        return CliError(EXIT_USAGE, f"{shown}: {where}: {problem}")

    _refuse_unknown(document, _FILE_KEYS, fail)
    dialect = _dialect_field(document, "dialect", "strict", lambda p: fail("dialect", p))
    return document, fail, _rules_table(document, fail), dialect


def _rules_table(
    document: Mapping[str, object], fail: Callable[[str, str], CliError]
) -> dict[str, str]:
    """The ``[rules]`` table, every value checked to be a rule's text."""
    rules = document.get("rules", {})
    if not isinstance(rules, dict):
        raise fail("rules", f"must be a table of name = rule text, not {kind_of(rules)}")
    for name, text in rules.items():
        if not isinstance(text, str):
            raise fail(
                f"rules.{shorten(name, ECHO_LIMIT)}",
                f"must be the rule's text, not {kind_of(text)}",
            )
    return rules


def _read_toml(path: str, shown: str) -> dict[str, Any]:
    """A TOML file's document; anything that stops ``tomllib`` is a ``CliError`` (exit 2)."""
    try:
        data = read_limited(path, f"the test file {shown}")
    except OSError as error:
        raise CliError(EXIT_USAGE, f"cannot read {shown}: {reason(error)}") from None
    try:
        text = data.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise CliError(
            EXIT_USAGE,
            f"{shown}, line {line}: not UTF-8 text (byte {data[error.start]:#04x}); "
            "TOML files are UTF-8",
        ) from None
    try:
        return tomllib.loads(text, parse_float=TomlFloat)
    except tomllib.TOMLDecodeError as error:
        raise CliError(EXIT_USAGE, f"{shown} is not valid TOML: {reason(error)}") from None
    except RecursionError:
        raise CliError(
            EXIT_USAGE, f"{shown}: arrays or tables are nested too deeply to read"
        ) from None
    except ValueError as error:  # an integer longer than Python's int-from-string limit
        raise CliError(EXIT_USAGE, f"{shown}{_long_integer(text, error)}") from None


def _long_integer(text: str, error: ValueError) -> str:
    """Where and what the integer is that ``tomllib`` could not convert (", line N: ...")."""
    limit = sys.get_int_max_str_digits()
    if not limit:
        return f" is not valid TOML: {reason(error)}"
    for run in re.finditer(r"[0-9_]+", text):  # no backtracking: linear in the file's size
        digits = len(run.group().replace("_", ""))
        if digits > limit:
            line = text.count("\n", 0, run.start()) + 1
            return (
                f", line {line}: a number has {digits} digits, more than Python reads "
                f"({limit}) and far more than any amount needs"
            )
    return f" is not valid TOML: {reason(error)}"


def _read_case(
    number: int,
    entry: dict[str, Any],
    *,
    rules: Mapping[str, str],
    file_dialect: Dialect,
    file_sat: bool,
    fail: Callable[[str, str], CliError],
) -> Case:
    name = entry.get("name")
    label = (
        f"case {number} ({quoted(name)})" if isinstance(name, str) and name else f"case {number}"
    )

    def field_error(field: str) -> Callable[[str], CliError]:
        return lambda problem: fail(f"{label}, {field}", problem)

    _refuse_unknown(entry, _CASE_KEYS, lambda key, p: fail(f"{label}, {key}", p))
    if not isinstance(name, str) or not name.strip():
        raise fail(label, 'every case needs a name = "..." saying what it checks')
    rule, uses = entry.get("rule"), entry.get("uses")
    if (rule is None) == (uses is None):
        raise fail(label, 'give either rule = "<rule text>" or uses = "<name from [rules]>"')
    if uses is not None:
        if not isinstance(uses, str):
            raise field_error("uses")(f"must be a name from [rules], not {kind_of(uses)}")
        if uses not in rules:
            close = difflib.get_close_matches(uses, list(rules), n=1)
            hint = f"; did you mean {quoted(close[0])}?" if close else ""
            raise field_error("uses")(
                f"no rule named {quoted(uses)} in [rules] (known: {name_list(rules)}){hint}"
            )
        rule = rules[uses]
    elif not isinstance(rule, str):
        raise field_error("rule")(f"must be the rule's text, not {kind_of(rule)}")
    dialect = _dialect_field(entry, "dialect", file_dialect, field_error("dialect"))
    sat = _bool_field(entry, "sat", file_sat, field_error("sat"))
    if "balances" not in entry:
        raise field_error("balances")("missing: write balances = { ASSET = amount }, or {}")
    amounts = entry["balances"]
    if not isinstance(amounts, dict):
        raise field_error("balances")(f"must be a table of asset = amount, not {kind_of(amounts)}")
    try:
        balances = balances_from_mapping(amounts, sat=sat, source="toml")
    except BalancesError as error:
        raise field_error("balances")(str(error)) from None
    expect = entry.get("expect")
    if not isinstance(expect, str) or expect not in _EXPECTATIONS:
        problem = "missing" if expect is None else f"not {kind_of(expect)}"
        raise field_error("expect")(f'must be "allow" or "deny"; {problem}')
    return Case(number, name, rule, uses, dialect, balances, _EXPECTATIONS[expect])


def _refuse_unknown(
    table: Mapping[str, object],
    known: Sequence[str],
    fail: Callable[[str, str], CliError],
) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise fail(
                shorten(key, ECHO_LIMIT), f"unknown key; {hint}known keys: {', '.join(known)}"
            )


def _dialect_field(
    table: Mapping[str, object], key: str, default: Dialect, fail: Callable[[str], CliError]
) -> Dialect:
    value = table.get(key, default)
    if value == "strict":
        return "strict"
    if value == "tokenpass":
        return "tokenpass"
    raise fail(f'must be "strict" or "tokenpass", not {kind_of(value)}')


def _bool_field(
    table: Mapping[str, object], key: str, default: bool, fail: Callable[[str], CliError]
) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise fail(f"must be true or false, not {kind_of(value)}")
    return value
