"""``tca-gate``: check, explain, lint and format TCA rules offline, and test rule sets in CI.

Usage::

    tca-gate check RULE --balances JSON|@FILE|@- [--sat] [--dialect D] [--explain] [--json]
    tca-gate explain RULE --balances JSON|@FILE|@- [--sat] [--dialect D] [--json]
    tca-gate lint RULE [--dialect D] [--json] [--fail-on-warning]
    tca-gate fmt RULE --to query|expr [--dialect D]
    tca-gate test FILE [--json]

Exit codes: 0 allowed, no warnings, every test case passed; 1 denied (``check``,
``explain``) or warnings under ``--fail-on-warning`` (``lint``); 2 a usage error,
unreadable or invalid balances, a malformed test file; 3 a rule that does not
compile or cannot be written in the form asked for; 4 a test case failed.

Balances are a JSON object of asset name to amount, inline or read from a file
(``@path``, ``@-`` for stdin). Amounts are tokens, as JSON numbers or decimal
strings (``"0.5"``), converted exactly: no amount ever passes through a float.
With ``--sat`` they are whole base units (1 token = 100000000), as JSON integers
or integer strings. Negative amounts are allowed (loans can make a balance
negative). Asset names are read the way strict rules read them: the part before
a ``.`` is upper-cased and a subasset's child part is kept as written, so
``ltbcoin`` means ``LTBCOIN`` and ``ltbcoin.Gold`` means ``LTBCOIN.Gold``; two
keys that name the same asset are an error. A balance the rule does not read but
whose name is close to an asset it does read is reported on stderr as a
probable typo.

Colour is used only when stdout is a terminal, ``NO_COLOR`` is unset or empty
(https://no-color.org) and ``TERM`` is not ``dumb``; ``--json`` output is never
coloured.

Test files
----------
A test file is TOML: a table of named rules and a list of cases, each a balance
sheet and whether the rule must allow or deny it:

    # Defaults for every case (both optional).
    dialect = "strict"          # "strict" (the default) or "tokenpass"
    sat = false                 # true: balances are base units, not tokens

    [rules]                     # optional: named rules that cases refer to
    premium = "LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR"

    [[case]]
    name = "staff get in without LTBCOIN"    # required, unique
    uses = "premium"                          # a name from [rules] ...
    balances = { LTBSTAFF = 1 }               # required; {} holds nothing
    expect = "allow"                          # "allow" or "deny"

    [[case]]
    name = "just short of the threshold"
    rule = "LTBCOIN >= 10000"                 # ... or the rule's own text
    balances = { LTBCOIN = "9999.99999999" }
    expect = "deny"

    [[case]]
    name = "legacy text, read as the Tokenpass server read it"
    rule = "LTBCOIN=1e3"
    dialect = "tokenpass"                     # overrides the file's default
    sat = true                                # overrides the file's default
    balances = { LTBCOIN = 100000000000 }
    expect = "allow"

Balances are tokens, converted exactly: integers, or decimals written as strings
("0.5"). TOML floats (0.5 unquoted) are refused, because TOML readers take them
as inexact binary floats. With sat = true they are whole base units (1 token =
100000000). Asset names are upper-cased up to any '.', as strict rules read them.
Unknown keys are errors, so a misspelt field never silently does nothing. Every
case runs and prints a PASS or FAIL line; each failure is followed by the
decision's explanation, and a closing line counts them: "3 passed, 0 failed".
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import string
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from pathlib import Path
from typing import Any, TextIO, get_args

from . import __version__
from ._amounts import SATOSHIS_PER_TOKEN, format_tokens, tokens_to_sat
from ._compile import compile_rule
from ._errors import RuleFormatError, RuleSyntaxError, caret_context
from ._explain import ClauseResult, Decision
from ._lint import LintWarning
from ._rule import Rule
from ._stack import Dialect

EXIT_OK = 0
EXIT_DENIED = 1
EXIT_USAGE = 2
EXIT_RULE_ERROR = 3
EXIT_TEST_FAILED = 4

PROG = "tca-gate"
DIALECTS: tuple[str, ...] = get_args(Dialect)

#: The most digits a token amount may have before its decimal point; no asset comes
#: near it, and it keeps ``1e999999`` from turning into a million-digit integer.
MAX_WHOLE_DIGITS = 30
_MAX_SAT = 10**MAX_WHOLE_DIGITS * SATOSHIS_PER_TOKEN
_TOO_LARGE = f"more than any asset's supply (the limit is 10^{MAX_WHOLE_DIGITS} tokens)"
_INTEGER = re.compile(r"-?[0-9]+")
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


class CliError(Exception):
    """Stops a command: ``message`` goes to stderr and ``code`` becomes the exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BalancesError(ValueError):
    """A balance sheet that cannot be read exactly; the message names the asset."""


# ---------------------------------------------------------------- output


_GREEN, _RED, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[0m"


@dataclass(frozen=True, slots=True)
class Console:
    """Where a command writes, and whether stdout may be coloured."""

    out: TextIO
    err: TextIO
    colour: bool

    @classmethod
    def standard(cls) -> Console:
        out = sys.stdout
        return cls(out, sys.stderr, _wants_colour(out, os.environ))

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def warn(self, text: str) -> None:
        print(f"{PROG}: warning: {text}", file=self.err)

    def good(self, text: str) -> str:
        return f"{_GREEN}{text}{_RESET}" if self.colour else text

    def bad(self, text: str) -> str:
        return f"{_RED}{text}{_RESET}" if self.colour else text

    def verdict(self, passed: bool, text: str) -> str:
        return self.good(text) if passed else self.bad(text)


def _wants_colour(stream: TextIO, environ: Mapping[str, str]) -> bool:
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _print_json(console: Console, document: object) -> None:
    console.say(json.dumps(document, indent=2, ensure_ascii=False))


def decision_lines(decision: Decision, console: Console) -> list[str]:
    """The decision's sentence and a table of every clause, amounts in tokens."""
    header = ("asset", "op", "required", "actual", "result", "shortfall")
    rows = [
        [c.asset, c.op, format_tokens(c.required), format_tokens(c.actual), *_outcome(c)]
        for g in decision.groups
        for c in g.clauses
    ]
    widths = [max(len(row[i]) for row in [list(header), *rows]) for i in range(len(header))]
    numeric = {2, 3, 5}

    def line(cells: Sequence[str], passed: bool | None = None) -> str:
        padded = [
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        if passed is not None:
            padded[4] = console.verdict(passed, padded[4])
        return "    " + "  ".join(padded).rstrip()

    lines = [decision.summary, "", f"rule: {decision.rule}", line(header)]
    rows_left = iter(rows)
    for group in decision.groups:
        closest = " (closest)" if group.index == decision.closest and not decision.allowed else ""
        outcome = console.verdict(group.passed, "pass" if group.passed else "fail")
        lines.append(f"  group {group.index}{closest}: {outcome}")
        lines.extend(line(next(rows_left), clause.passed) for clause in group.clauses)
    return lines


def _outcome(clause: ClauseResult) -> tuple[str, str]:
    if clause.passed:
        return "pass", "0"
    if clause.shortfall is None:
        return "fail", "impossible"
    sign = "+" if clause.shortfall > 0 else "-"
    return "fail", sign + format_tokens(abs(clause.shortfall))


# ---------------------------------------------------------------- balances


def canonical_asset(name: str) -> str:
    """An asset name as strict rules write it: ``ltbcoin.Gold`` → ``LTBCOIN.Gold``."""
    parent, dot, child = name.partition(".")
    return parent.translate(_ASCII_UPPER) + dot + child


def balances_from_mapping(
    amounts: Mapping[str, object], *, sat: bool, sat_flag: str = "--sat"
) -> dict[str, int]:
    """Asset → amount (tokens, or base units when ``sat``) to asset → exact base units.

    ``sat_flag`` is how the user asked for base units, for the error messages.
    """
    balances: dict[str, int] = {}
    written: dict[str, str] = {}
    for key, value in amounts.items():
        if not key:
            raise BalancesError("an asset name is empty")
        asset = canonical_asset(key)
        if asset in written:
            raise BalancesError(f"{written[asset]} and {key} both name the asset {asset}")
        written[asset] = key
        balances[asset] = _amount(key, value, sat=sat, sat_flag=sat_flag)
    return balances


@dataclass(frozen=True, slots=True)
class TomlFloat:
    """A TOML float, kept as written so that it can be refused with its own text."""

    text: str


def _amount(asset: str, value: object, *, sat: bool, sat_flag: str) -> int:
    what = f"the balance of {asset}"
    if isinstance(value, TomlFloat):
        raise BalancesError(
            f"{what} is the TOML float {value.text}, which TOML readers take as an inexact "
            f'binary float: quote it, {asset} = "{value.text}"'
        )
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise BalancesError(f"{what} must be a number or a decimal string, not {_kind(value)}")
    if sat:
        if isinstance(value, str) and _INTEGER.fullmatch(value):
            try:
                value = int(value)
            except ValueError as error:
                raise BalancesError(f"{what}: {error}") from None
        if not isinstance(value, int):
            raise BalancesError(
                f"{what} is {_show(value)}, not a whole number of base units "
                f"({sat_flag} amounts are integers; drop {sat_flag} to give tokens)"
            )
        amount = value
    else:
        if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > MAX_WHOLE_DIGITS:
            raise BalancesError(f"{what} is {value}, {_TOO_LARGE}")
        try:
            amount = tokens_to_sat(value)
        except (ValueError, DecimalException) as error:
            raise BalancesError(f"{what}: {error}") from None
    if abs(amount) >= _MAX_SAT:
        raise BalancesError(f"{what} is {_show(value)}, {_TOO_LARGE}")
    return amount


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _kind(value: object) -> str:
    """What a JSON or TOML value is, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, Decimal):
        return f"the number {value}"
    if isinstance(value, TomlFloat):
        return f"the float {value.text}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"the {type(value).__name__} {value}"


def read_balances(argument: str, *, sat: bool) -> dict[str, int]:
    """``--balances``: inline JSON, ``@path`` or ``@-`` (stdin), to exact base units."""
    if argument.startswith("@"):
        source = argument[1:]
        if source == "-":
            text, where = sys.stdin.read(), "stdin"
        else:
            where = source
            try:
                text = Path(source).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise BalancesError(
                    f"cannot read balances from {source}: {_reason(error)}"
                ) from None
    else:
        text, where = argument, "--balances"
    try:
        document = json.loads(
            text,
            parse_float=Decimal,
            parse_int=int,
            parse_constant=Decimal,  # NaN and Infinity: refused with the asset's name
            object_pairs_hook=_unique_keys,
        )
    except ValueError as error:
        if isinstance(error, BalancesError):
            raise
        raise BalancesError(f"{where} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise BalancesError(
            f'{where} must be a JSON object of asset to amount, e.g. {{"LTBCOIN": "0.5"}}, '
            f"not {_kind(document)}"
        )
    return balances_from_mapping(document, sat=sat)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise BalancesError(f"{key} appears twice in the balances")
        found[key] = value
    return found


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


def typo_warnings(rule: Rule, balances: Mapping[str, int]) -> list[str]:
    """Balances the rule never reads whose names are close to an asset it reads but lacks."""
    unread = [asset for asset in rule.assets if asset not in balances]
    found = []
    for asset in balances:
        if asset in rule.assets:
            continue
        close = difflib.get_close_matches(asset, unread, n=1, cutoff=0.75)
        if close:
            found.append(f"the rule does not read {asset}; did you mean {close[0]}?")
    return found


# ---------------------------------------------------------------- check / explain


def _add_rule(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rule", metavar="RULE", help="rule text: a stack query or an expression")
    parser.add_argument(
        "--dialect",
        choices=DIALECTS,
        default="strict",
        help="how to read RULE: strict (the default) or tokenpass (as the deployed server did)",
    )


def _add_check_arguments(parser: argparse.ArgumentParser, *, explain_flag: bool) -> None:
    _add_rule(parser)
    parser.add_argument(
        "--balances",
        required=True,
        metavar="JSON|@FILE",
        help="a JSON object of asset to amount, inline, @path, or @- for stdin",
    )
    parser.add_argument(
        "--sat", action="store_true", help="amounts are base units (1 token = 100000000)"
    )
    if explain_flag:
        parser.add_argument("--explain", action="store_true", help="also say why, clause by clause")
    parser.add_argument(
        "--json", action="store_true", help="print the decision as JSON (nothing else)"
    )


def _add_explain_arguments(parser: argparse.ArgumentParser) -> None:
    _add_check_arguments(parser, explain_flag=False)
    parser.set_defaults(explain=True)


def _run_check(args: argparse.Namespace, console: Console) -> int:
    rule = compile_rule(args.rule, args.dialect)
    try:
        balances = read_balances(args.balances, sat=args.sat)
    except BalancesError as error:
        raise CliError(EXIT_USAGE, str(error)) from None
    for warning in typo_warnings(rule, balances):
        console.warn(warning)
    decision = rule.explain(balances)
    if args.json:
        _print_json(console, decision.to_dict())
    else:
        console.say(console.verdict(decision.allowed, _word(decision.allowed)))
        if args.explain:
            for line in decision_lines(decision, console):
                console.say(line)
    return EXIT_OK if decision.allowed else EXIT_DENIED


def _word(allowed: bool) -> str:
    return "allowed" if allowed else "denied"


# ---------------------------------------------------------------- lint


def _add_lint_arguments(parser: argparse.ArgumentParser) -> None:
    _add_rule(parser)
    parser.add_argument("--json", action="store_true", help="print the warnings as JSON")
    parser.add_argument(
        "--fail-on-warning", action="store_true", help="exit 1 when there is any warning"
    )


def _run_lint(args: argparse.Namespace, console: Console) -> int:
    rule = compile_rule(args.rule, args.dialect)
    warnings = rule.lint()
    if args.json:
        _print_json(console, {"rule": str(rule), "warnings": [_warning_dict(w) for w in warnings]})
    else:
        for warning in warnings:
            console.say(f"{warning.code}: {warning.message}")
            if warning.position is not None:
                for line in caret_context(args.rule, warning.position):
                    console.say(line)
        count = len(warnings)
        console.say(f"{count} warning{'s' if count != 1 else ''}" if count else "no warnings")
    return EXIT_DENIED if warnings and args.fail_on_warning else EXIT_OK


def _warning_dict(warning: LintWarning) -> dict[str, object]:
    return {"code": warning.code, "message": warning.message, "position": warning.position}


# ---------------------------------------------------------------- fmt


def _add_fmt_arguments(parser: argparse.ArgumentParser) -> None:
    _add_rule(parser)
    parser.add_argument(
        "--to",
        required=True,
        choices=("query", "expr"),
        help="query: the canonical stack; expr: the canonical readable expression",
    )


def _run_fmt(args: argparse.Namespace, console: Console) -> int:
    rule = compile_rule(args.rule, args.dialect)
    console.say(rule.to_query() if args.to == "query" else rule.to_expr())
    return EXIT_OK


# ---------------------------------------------------------------- test files


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
    try:
        with Path(path).open("rb") as file:
            document = tomllib.load(file, parse_float=TomlFloat)
    except OSError as error:
        raise CliError(EXIT_USAGE, f"cannot read {path}: {_reason(error)}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CliError(EXIT_USAGE, f"{path} is not valid TOML: {error}") from None

    def fail(where: str, problem: str) -> CliError:
        return CliError(EXIT_USAGE, f"{path}: {where}: {problem}")

    _refuse_unknown(document, _FILE_KEYS, fail)
    dialect = _dialect_field(document, "dialect", "strict", lambda p: fail("dialect", p))
    sat = _bool_field(document, "sat", False, lambda p: fail("sat", p))
    rules = document.get("rules", {})
    if not isinstance(rules, dict):
        raise fail("rules", f"must be a table of name = rule text, not {_kind(rules)}")
    for name, text in rules.items():
        if not isinstance(text, str):
            raise fail(f"rules.{name}", f"must be the rule's text, not {_kind(text)}")
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
                f"name {case.name!r} is already the name of case {seen[case.name]}",
            )
        seen[case.name] = number
        cases.append(case)
    return Suite(path, rules, dialect, cases)


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
    label = f"case {number} ({name!r})" if isinstance(name, str) and name else f"case {number}"

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
            raise field_error("uses")(f"must be a name from [rules], not {_kind(uses)}")
        if uses not in rules:
            close = difflib.get_close_matches(uses, list(rules), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(rules) or "none"
            raise field_error("uses")(f"no rule named {uses!r} in [rules] (known: {known}){hint}")
        rule = rules[uses]
    elif not isinstance(rule, str):
        raise field_error("rule")(f"must be the rule's text, not {_kind(rule)}")
    dialect = _dialect_field(entry, "dialect", file_dialect, field_error("dialect"))
    sat = _bool_field(entry, "sat", file_sat, field_error("sat"))
    if "balances" not in entry:
        raise field_error("balances")("missing: write balances = { ASSET = amount }, or {}")
    amounts = entry["balances"]
    if not isinstance(amounts, dict):
        raise field_error("balances")(f"must be a table of asset = amount, not {_kind(amounts)}")
    try:
        balances = balances_from_mapping(amounts, sat=sat, sat_flag="sat = true")
    except BalancesError as error:
        raise field_error("balances")(str(error)) from None
    expect = entry.get("expect")
    if not isinstance(expect, str) or expect not in _EXPECTATIONS:
        problem = "missing" if expect is None else f"not {_kind(expect)}"
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
            raise fail(key, f"unknown key; {hint}known keys: {', '.join(known)}")


def _dialect_field(
    table: Mapping[str, object], key: str, default: Dialect, fail: Callable[[str], CliError]
) -> Dialect:
    value = table.get(key, default)
    if value == "strict":
        return "strict"
    if value == "tokenpass":
        return "tokenpass"
    raise fail(f'must be "strict" or "tokenpass", not {_kind(value)}')


def _bool_field(
    table: Mapping[str, object], key: str, default: bool, fail: Callable[[str], CliError]
) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise fail(f"must be true or false, not {_kind(value)}")
    return value


def compile_suite(suite: Suite) -> list[Rule]:
    """Each case's compiled rule; every rule that does not compile is reported (exit 3).

    A named rule is compiled in the dialect of each case that uses it, and in the
    file's dialect when no case does, so that no rule in the file goes unchecked.
    """
    problems: list[str] = []
    compiled: list[Rule] = []
    failed: set[tuple[str, str]] = set()
    for case in suite.cases:
        try:
            compiled.append(compile_rule(case.rule_text, case.dialect))
        except RuleSyntaxError as error:
            if (case.rule_text, case.dialect) not in failed:
                failed.add((case.rule_text, case.dialect))
                source = f"rules.{case.uses}" if case.uses else "its rule"
                problems.append(
                    f"{suite.path}: case {case.number} ({case.name!r}): {source} does not "
                    f"compile in the {case.dialect} dialect:\n{error}"
                )
    used = {case.uses for case in suite.cases}
    for name, text in suite.rules.items():
        if name in used:
            continue
        try:
            compile_rule(text, suite.dialect)
        except RuleSyntaxError as error:
            problems.append(f"{suite.path}: rules.{name} does not compile:\n{error}")
    if problems:
        raise CliError(EXIT_RULE_ERROR, "\n".join(problems))
    return compiled


def _add_test_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a TOML file of rules and cases")
    parser.add_argument(
        "--json", action="store_true", help="print every case's result as JSON (nothing else)"
    )


def _run_test(args: argparse.Namespace, console: Console) -> int:
    suite = load_test_file(args.file)
    compiled = compile_suite(suite)
    cases = suite.cases
    results: list[dict[str, object]] = []
    failed = 0
    for case, rule in zip(cases, compiled, strict=True):
        decision = rule.explain(case.balances)
        passed = decision.allowed == case.expect_allowed
        failed += not passed
        notes = typo_warnings(rule, case.balances)
        if args.json:
            results.append(_case_dict(case, decision, passed, notes))
            continue
        mark = console.verdict(passed, "PASS" if passed else "FAIL")
        if passed:
            console.say(f"{mark}  {case.name}")
        else:
            expected = "allow" if case.expect_allowed else "deny"
            got = "allow" if decision.allowed else "deny"
            console.say(f"{mark}  {case.name}: expected {expected}, got {got}")
        for note in notes:
            console.say(f"      warning: {note}")
        if not passed:
            for line in decision_lines(decision, console):
                console.say(f"  {line}" if line else "")
    passed_count = len(cases) - failed
    if args.json:
        _print_json(console, {"passed": passed_count, "failed": failed, "cases": results})
    else:
        console.say(f"{passed_count} passed, {failed} failed")
    return EXIT_TEST_FAILED if failed else EXIT_OK


def _case_dict(
    case: Case, decision: Decision, passed: bool, warnings: Sequence[str]
) -> dict[str, object]:
    return {
        "name": case.name,
        "rule": case.rule_text,
        "uses": case.uses,
        "dialect": case.dialect,
        "expect": "allow" if case.expect_allowed else "deny",
        "passed": passed,
        "warnings": list(warnings),
        "decision": decision.to_dict(),
    }


# ---------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Command:
    """One subcommand: its help, how it adds its arguments, and what it runs."""

    name: str
    summary: str
    description: str
    examples: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Console], int]


_BALANCES_HELP = """\
balances: a JSON object of asset to amount. Amounts are tokens (JSON numbers or
decimal strings, converted exactly); with --sat, whole base units (1 token =
100000000). ltbcoin means LTBCOIN: the part of a name before any '.' is
upper-cased, as in strict rules.
"""

_CHECK_EXAMPLES = f"""\
{_BALANCES_HELP}
examples:
  tca-gate check 'LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR' --balances '{{"LTBSTAFF": 1}}'
  tca-gate check 'LTBCOIN >= 0.5' --balances '{{"LTBCOIN": "0.49999999"}}' --explain
  tca-gate check 'LTBCOIN=1' --balances '{{"LTBCOIN": 100000000}}' --sat
  tca-gate check 'LTBCOIN=1e3' --dialect tokenpass --balances @holdings.json --json
  wallet-balances | tca-gate check 'TOKENLY > 0' --balances @-

exit status: 0 allowed, 1 denied, 2 usage error or bad balances, 3 rule error
"""

_EXPLAIN_EXAMPLES = f"""\
{_BALANCES_HELP}
examples:
  tca-gate explain 'LTBCOIN >= 10000 or LTBSTAFF >= 1' --balances '{{"LTBCOIN": 9000}}'
  tca-gate explain 'TOKENLY=10&op_0=<' --balances @holdings.json --json

exit status: 0 allowed, 1 denied, 2 usage error or bad balances, 3 rule error
"""

_LINT_EXAMPLES = """\
examples:
  tca-gate lint 'LTBCOIN=0'
  tca-gate lint 'LTBCOIN > 10 and LTBCOIN < 5' --json
  tca-gate lint 'LTBCOIN=1&stackOp_1=OR&TOKENLY=1' --dialect tokenpass --fail-on-warning

exit status: 0 done (even with warnings), 1 warnings under --fail-on-warning,
2 usage error, 3 rule error
"""

_FMT_EXAMPLES = """\
examples:
  tca-gate fmt 'LTBCOIN >= 10000 or LTBSTAFF >= 1' --to query
  tca-gate fmt 'LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR' --to expr
  tca-gate fmt 'LTBCOIN=1e3&ltbcoin=5' --dialect tokenpass --to query

exit status: 0 done, 2 usage error, 3 the rule does not compile or cannot be
written in the form asked for
"""

_TEST_EXAMPLES = (
    "test files:\n"
    + (__doc__ or "").partition("----------\n")[2]
    + """
examples:
  tca-gate test tests/rules.toml
  tca-gate test tests/rules.toml --json

exit status: 0 every case passed, 2 usage error or malformed file, 3 a rule in
the file does not compile, 4 some case failed
"""
)

COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command(
            "check",
            "decide whether a balance sheet satisfies a rule",
            "Decide whether the holder of BALANCES satisfies RULE: prints allowed or denied.",
            _CHECK_EXAMPLES,
            lambda parser: _add_check_arguments(parser, explain_flag=True),
            _run_check,
        ),
        Command(
            "explain",
            "the decision with its reasons (check --explain)",
            "Decide as check does, and say why: a sentence and every clause's figures.",
            _EXPLAIN_EXAMPLES,
            _add_explain_arguments,
            _run_check,
        ),
        Command(
            "lint",
            "warn about legal but suspicious rules",
            "Report parts of RULE that are legal but probably not what was meant.",
            _LINT_EXAMPLES,
            _add_lint_arguments,
            _run_lint,
        ),
        Command(
            "fmt",
            "print a rule's canonical text",
            "Print RULE in canonical form, as a stack query or a readable expression.",
            _FMT_EXAMPLES,
            _add_fmt_arguments,
            _run_fmt,
        ),
        Command(
            "test",
            "run a TOML file of rule test cases (for CI)",
            "Run every case of a TOML test file: each is a rule, balances, and allow or deny.",
            _TEST_EXAMPLES,
            _add_test_arguments,
            _run_test,
        ),
    )
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one subparser per entry of ``COMMANDS``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Grant or refuse access by the tokens a user holds: check, explain,\n"
        "lint and format Token Controlled Access rules offline, and test rule sets.",
        epilog="Run 'tca-gate COMMAND --help' for a command's options and examples.\n\n"
        "exit status: 0 allowed / clean / passed, 1 denied (or lint warnings under\n"
        "--fail-on-warning), 2 usage error, 3 rule error, 4 a test case failed",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", title="commands"
    )
    for command in COMMANDS.values():
        sub = commands.add_parser(
            command.name,
            help=command.summary,
            description=command.description,
            epilog=command.examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.configure(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tca-gate`` command line; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse exits on --help, --version and usage errors
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    console = Console.standard()
    try:
        code: int = args.run(args, console)
    except CliError as error:
        kind = "rule error" if error.code == EXIT_RULE_ERROR else "error"
        print(f"{PROG} {args.command}: {kind}: {error.message}", file=console.err)
        return error.code
    except (RuleSyntaxError, RuleFormatError) as error:
        print(f"{PROG} {args.command}: rule error: {error}", file=console.err)
        return EXIT_RULE_ERROR
    except BrokenPipeError:  # the reader left early (``| head``): no traceback, and no "allowed"
        _detach_stdout()
        return EXIT_DENIED
    return code


def _detach_stdout() -> None:
    """Point stdout at the null device so that the interpreter's last flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (io.UnsupportedOperation is both)
        pass
