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
compile or cannot be written in the form asked for; 4 a test case failed; 70 an
internal error (a bug in tca-gate, never a decision: set ``TCA_GATE_DEBUG=1`` for
the traceback); 130 interrupted (Ctrl-C); 141 stdout was closed before everything
was written (``| head``: 128 + SIGPIPE, as the shell reports a process the closed
pipe stopped). Neither 130 nor 141 is a decision.

Messages repeat at most 60 characters of any value they echo (a key, an amount,
a name; 120 of a file name), cutting longer ones short with "…".

Balances are a JSON object of asset name to amount, inline or read from a file
(``@path``, ``@-`` for stdin; a UTF-8 byte order mark at the start is ignored).
Amounts are tokens, as JSON numbers or decimal strings (``"0.5"``), converted
exactly: no amount ever passes through a float. With ``--sat`` they are whole
base units (1 token = 100000000), as JSON integers or integer strings. Negative
amounts are allowed (loans can make a balance negative). Asset names are read
the way strict rules read them: the part before a ``.`` is upper-cased and a
subasset's child part is kept as written, so ``ltbcoin`` means ``LTBCOIN`` and
``ltbcoin.Gold`` means ``LTBCOIN.Gold``; two keys that name the same asset are an
error. A balance the rule does not read but whose name is close to an asset it
does read is reported on stderr as a probable typo (in either name).

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
import sys
import tomllib
import traceback
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO, get_args

from . import __version__
from ._amounts import MAX_DIGITS, SATOSHIS_PER_TOKEN, format_tokens, tokens_to_sat
from ._compile import compile_rule
from ._errors import RuleFormatError, RuleSyntaxError, caret_context, shorten
from ._explain import ClauseResult, Decision
from ._lint import LintWarning
from ._rule import Rule
from ._stack import Dialect, ascii_upper, strict_asset

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

EXIT_OK = 0
EXIT_DENIED = 1
EXIT_USAGE = 2
EXIT_RULE_ERROR = 3
EXIT_TEST_FAILED = 4
#: EX_SOFTWARE (``sysexits.h``): an exception nobody expected, never a decision.
EXIT_INTERNAL_ERROR = 70
#: 128 + SIGINT, as the shell reports a process stopped by Ctrl-C.
EXIT_INTERRUPTED = 130
#: 128 + SIGPIPE, as the shell reports a process stopped by writing to a closed pipe
#: (``tca-gate test big.toml | head``): not 1, which would read as "denied".
EXIT_BROKEN_PIPE = 141

#: Set (non-empty) to print the traceback of an internal error.
DEBUG_VARIABLE = "TCA_GATE_DEBUG"

PROG = "tca-gate"
DIALECTS: tuple[str, ...] = get_args(Dialect)

#: Balances are below 10^MAX_DIGITS tokens (``MAX_DIGITS`` digits before the point, the
#: package's own limit on amounts): no asset comes near it, and it keeps ``1e999999``
#: from turning into a million-digit integer.
_MAX_TOKENS: int = 10**MAX_DIGITS
_MAX_SAT = _MAX_TOKENS * SATOSHIS_PER_TOKEN
_TOO_LARGE = f"more than any asset's supply (a balance must be under 10^{MAX_DIGITS} tokens)"
_INTEGER = re.compile(r"-?[0-9]+")

#: The most characters of a user's value (a key, an amount, a name) that a message
#: repeats (``shorten(value, ECHO_LIMIT)``); a longer value is cut short with "…", so
#: that a megabyte of key cannot make a megabyte of message.
ECHO_LIMIT = 60
#: File names get more room, so that an ordinary CI path shows whole; a longer one
#: keeps its start and its end (the file's own name).
PATH_ECHO_LIMIT = 120
#: The most characters of an exception's own text (a JSON or TOML reader's) repeated.
_REASON_LIMIT = 200
#: Integers from here up are described by their length rather than written out.
_LONG_INTEGER = 10**ECHO_LIMIT
_BARE_TOML_KEY = re.compile(r"[A-Za-z0-9_-]+")
_NOT_AMOUNTS = frozenset({"inf", "+inf", "-inf", "nan", "+nan", "-nan"})
#: A byte order mark, which some Windows editors put at the start of a UTF-8 file.
_BOM = "\ufeff"

#: Where balances come from, which decides how a problem with them is worded.
BalancesSource = Literal["json", "toml"]
#: How the user asked for base units, in each source.
_SAT_FLAG: dict[BalancesSource, str] = {"json": "--sat", "toml": "sat = true"}


class CliError(Exception):
    """Stops a command: ``message`` goes to stderr and ``code`` becomes the exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BalancesError(ValueError):
    """A balance sheet that cannot be read exactly; the message names the asset."""


# ---------------------------------------------------------------- echoing user input


def _quoted(text: str) -> str:
    """A user's string as ``repr`` shows it, cut short."""
    return repr(shorten(text, ECHO_LIMIT))


def clip_path(path: str) -> str:
    """A file name cut short in the middle, so that both its start and its last part show."""
    if len(path) <= PATH_ECHO_LIMIT:
        return path
    head = PATH_ECHO_LIMIT // 3
    return path[:head] + "…" + path[len(path) - (PATH_ECHO_LIMIT - head - 1) :]


def _integer(value: int) -> str | None:
    """An integer's digits, or ``None`` when there are too many to repeat.

    ``str`` of an integer past Python's 4300-digit limit raises ``ValueError``, so a
    long integer must never reach an f-string.
    """
    return str(value) if abs(value) < _LONG_INTEGER else None


def _one_line(text: str) -> str:
    return " ".join(text.split())


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
    """An asset name as strict rules write it: ``ltbcoin.Gold`` → ``LTBCOIN.Gold``.

    A Counterparty asset name is canonicalised by ``strict_asset``, as strict rules
    read it. Any other key (``foo``, ``ltbcoin_gold``: assets that only the tokenpass
    dialect reads) is not refused: it is upper-cased the same way, ASCII letters only,
    up to any '.'.
    """
    asset = strict_asset(name)
    if asset is not None:
        return asset
    parent, dot, child = name.partition(".")
    return ascii_upper(parent) + dot + child


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
        raise BalancesError(f"{not_amount} {_kind(value)}")
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
        return _quoted(value)
    if isinstance(value, int):
        digits = _integer(value)
        return digits if digits is not None else f"an integer of more than {ECHO_LIMIT} digits"
    return shorten(str(value), ECHO_LIMIT)


def _toml_key(key: str) -> str:
    """``key`` as it would be written on the left of ``=`` in TOML, cut short."""
    written = key if _BARE_TOML_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)
    return shorten(written, ECHO_LIMIT)


def _kind(value: object) -> str:
    """What a JSON or TOML value is, for error messages; any value shown is cut short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {_quoted(value)}"
    if isinstance(value, int):
        digits = _integer(value)
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
    """``--balances``: inline JSON, ``@path`` or ``@-`` (stdin), to exact base units."""
    if argument.startswith("@"):
        source = argument[1:]
        where = "stdin" if source == "-" else clip_path(source)
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise BalancesError(f"cannot read balances from {where}: {_reason(error)}") from None
    else:
        text, where = argument, "--balances"
    text = text.removeprefix(_BOM)
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
        raise BalancesError(f"{where} is not valid JSON: {_reason(error)}") from None
    if not isinstance(document, dict):
        raise BalancesError(
            f'{where} must be a JSON object of asset to amount, e.g. {{"LTBCOIN": "0.5"}}, '
            f"not {_kind(document)}"
        )
    return balances_from_mapping(document, sat=sat, source="json")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise BalancesError(f"{shorten(key, ECHO_LIMIT)} appears twice in the balances")
        found[key] = value
    return found


def _reason(error: BaseException) -> str:
    """Why reading failed, in the reader's words, on one line and cut short."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return shorten(_one_line(str(error)), _REASON_LIMIT)


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
    shown = clip_path(path)
    document = _read_toml(path, shown)

    def fail(where: str, problem: str) -> CliError:
        return CliError(EXIT_USAGE, f"{shown}: {where}: {problem}")

    _refuse_unknown(document, _FILE_KEYS, fail)
    dialect = _dialect_field(document, "dialect", "strict", lambda p: fail("dialect", p))
    sat = _bool_field(document, "sat", False, lambda p: fail("sat", p))
    rules = document.get("rules", {})
    if not isinstance(rules, dict):
        raise fail("rules", f"must be a table of name = rule text, not {_kind(rules)}")
    for name, text in rules.items():
        if not isinstance(text, str):
            raise fail(
                f"rules.{shorten(name, ECHO_LIMIT)}", f"must be the rule's text, not {_kind(text)}"
            )
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
                f"name {_quoted(case.name)} is already the name of case {seen[case.name]}",
            )
        seen[case.name] = number
        cases.append(case)
    return Suite(path, rules, dialect, cases)


def _read_toml(path: str, shown: str) -> dict[str, Any]:
    """A TOML file's document; anything that stops ``tomllib`` is a ``CliError`` (exit 2)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise CliError(EXIT_USAGE, f"cannot read {shown}: {_reason(error)}") from None
    try:
        text = data.decode("utf-8").removeprefix(_BOM)
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
        raise CliError(EXIT_USAGE, f"{shown} is not valid TOML: {_reason(error)}") from None
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
        return f" is not valid TOML: {_reason(error)}"
    for run in re.finditer(r"[0-9_]+", text):  # no backtracking: linear in the file's size
        digits = len(run.group().replace("_", ""))
        if digits > limit:
            line = text.count("\n", 0, run.start()) + 1
            return (
                f", line {line}: a number has {digits} digits, more than Python reads "
                f"({limit}) and far more than any amount needs"
            )
    return f" is not valid TOML: {_reason(error)}"


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
        f"case {number} ({_quoted(name)})" if isinstance(name, str) and name else f"case {number}"
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
            raise field_error("uses")(f"must be a name from [rules], not {_kind(uses)}")
        if uses not in rules:
            close = difflib.get_close_matches(uses, list(rules), n=1)
            hint = f"; did you mean {_quoted(close[0])}?" if close else ""
            raise field_error("uses")(
                f"no rule named {_quoted(uses)} in [rules] (known: {_names(rules)}){hint}"
            )
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
        balances = balances_from_mapping(amounts, sat=sat, source="toml")
    except BalancesError as error:
        raise field_error("balances")(str(error)) from None
    expect = entry.get("expect")
    if not isinstance(expect, str) or expect not in _EXPECTATIONS:
        problem = "missing" if expect is None else f"not {_kind(expect)}"
        raise field_error("expect")(f'must be "allow" or "deny"; {problem}')
    return Case(number, name, rule, uses, dialect, balances, _EXPECTATIONS[expect])


def _names(names: Collection[str], most: int = 5) -> str:
    """The first few names, each cut short, and how many more there are."""
    listed = [shorten(name, ECHO_LIMIT) for name in list(names)[:most]]
    if len(names) > most:
        listed.append(f"and {len(names) - most} more")
    return ", ".join(listed) or "none"


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
                source = f"rules.{shorten(case.uses, ECHO_LIMIT)}" if case.uses else "its rule"
                problems.append(
                    f"{clip_path(suite.path)}: case {case.number} ({_quoted(case.name)}): "
                    f"{source} does not compile in the {case.dialect} dialect:\n{error}"
                )
    used = {case.uses for case in suite.cases}
    for name, text in suite.rules.items():
        if name in used:
            continue
        try:
            compile_rule(text, suite.dialect)
        except RuleSyntaxError as error:
            shown = f"{clip_path(suite.path)}: rules.{shorten(name, ECHO_LIMIT)}"
            problems.append(f"{shown} does not compile:\n{error}")
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

#: The statuses every command shares that are not its answer: the end of each help.
_STOPPED = """\
130 interrupted (Ctrl-C), 141 stdout closed before the output was all written
(a broken pipe, as in | head)"""

_CHECK_EXAMPLES = f"""\
{_BALANCES_HELP}
examples:
  tca-gate check 'LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR' --balances '{{"LTBSTAFF": 1}}'
  tca-gate check 'LTBCOIN >= 0.5' --balances '{{"LTBCOIN": "0.49999999"}}' --explain
  tca-gate check 'LTBCOIN=1' --balances '{{"LTBCOIN": 100000000}}' --sat
  tca-gate check 'LTBCOIN=1e3' --dialect tokenpass --balances @holdings.json --json
  wallet-balances | tca-gate check 'TOKENLY > 0' --balances @-

exit status: 0 allowed, 1 denied, 2 usage error or bad balances, 3 rule error,
70 internal error (a bug in tca-gate, never a decision),
{_STOPPED}
"""

_EXPLAIN_EXAMPLES = f"""\
{_BALANCES_HELP}
examples:
  tca-gate explain 'LTBCOIN >= 10000 or LTBSTAFF >= 1' --balances '{{"LTBCOIN": 9000}}'
  tca-gate explain 'TOKENLY=10&op_0=<' --balances @holdings.json --json

exit status: 0 allowed, 1 denied, 2 usage error or bad balances, 3 rule error,
70 internal error (a bug in tca-gate, never a decision),
{_STOPPED}
"""

_LINT_EXAMPLES = f"""\
examples:
  tca-gate lint 'LTBCOIN=0'
  tca-gate lint 'LTBCOIN > 10 and LTBCOIN < 5' --json
  tca-gate lint 'LTBCOIN=1&stackOp_1=OR&TOKENLY=1' --dialect tokenpass --fail-on-warning

exit status: 0 done (even with warnings), 1 warnings under --fail-on-warning,
2 usage error, 3 rule error, 70 internal error (a bug in tca-gate),
{_STOPPED}
"""

_FMT_EXAMPLES = f"""\
examples:
  tca-gate fmt 'LTBCOIN >= 10000 or LTBSTAFF >= 1' --to query
  tca-gate fmt 'LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR' --to expr
  tca-gate fmt 'LTBCOIN=1e3&ltbcoin=5' --dialect tokenpass --to query

exit status: 0 done, 2 usage error, 3 the rule does not compile or cannot be
written in the form asked for, 70 internal error (a bug in tca-gate),
{_STOPPED}
"""

_TEST_EXAMPLES = (
    "test files:\n"
    + (__doc__ or "").partition("----------\n")[2]
    + f"""
examples:
  tca-gate test examples/rules.toml
  tca-gate test examples/rules.toml --json

exit status: 0 every case passed, 2 usage error or malformed file, 3 a rule in
the file does not compile, 4 some case failed, 70 internal error (a bug in
tca-gate, never a test result),
{_STOPPED}
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


class _Parser(argparse.ArgumentParser):
    """An argument parser whose output into a closed pipe is a broken pipe, not nothing.

    argparse ignores any ``OSError`` from writing its help, usage or version, so that
    ``tca-gate --help | true`` would exit 0; here a broken pipe reaches ``main``, which
    exits ``EXIT_BROKEN_PIPE`` as for any other output. Other failures (no stderr at
    all) are still ignored, as argparse ignores them.
    """

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if not message:
            return
        try:
            (file or sys.stderr).write(message)
        except BrokenPipeError:
            raise
        except (AttributeError, OSError):  # sys.stderr is None when there is no stderr
            pass


class _CommandParser(_Parser):
    """A command's parser, which reports the arguments it does not know itself.

    argparse hands a subcommand's unknown arguments up to the top-level parser, whose
    error shows the top-level usage line (``tca-gate [-h] [--version] COMMAND ...``);
    here the command's own usage line is shown, with the option probably meant.
    """

    def parse_known_args(  # argparse parses a command's arguments with this
        self, args: Iterable[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(self._unrecognized(extras))
        return parsed, extras

    def _unrecognized(self, extras: Sequence[str]) -> str:
        known = [option for action in self._actions for option in action.option_strings]
        hints: list[tuple[str, str]] = []
        for extra in extras:
            if extra.startswith("-"):
                close = difflib.get_close_matches(extra.partition("=")[0], known, n=1)
                if close:
                    hints.append((shorten(extra, ECHO_LIMIT), close[0]))
        if len(extras) == 1:
            message = f"unrecognized argument: {shorten(extras[0], ECHO_LIMIT)}"
            return message + (f"; did you mean {hints[0][1]}?" if hints else "")
        message = f"unrecognized arguments: {_names(extras)}"
        if not hints:
            return message
        meant = ", ".join(f"{option} for {extra}" for extra, option in hints)
        return f"{message}; did you mean {meant}?"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one subparser per entry of ``COMMANDS``.

    No parser accepts abbreviations: ``--balance`` is an error, not ``--balances``.
    """
    parser = _Parser(
        prog=PROG,
        allow_abbrev=False,
        description="Grant or refuse access by the tokens a user holds: check, explain,\n"
        "lint and format Token Controlled Access rules offline, and test rule sets.",
        epilog="Run 'tca-gate COMMAND --help' for a command's options and examples.\n\n"
        "exit status: 0 allowed / clean / passed, 1 denied (or lint warnings under\n"
        "--fail-on-warning), 2 usage error, 3 rule error, 4 a test case failed,\n"
        "70 internal error: a bug in tca-gate, never a decision (set TCA_GATE_DEBUG=1\n"
        f"for the traceback),\n{_STOPPED}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        title="commands",
        parser_class=_CommandParser,
    )
    for command in COMMANDS.values():
        sub = commands.add_parser(
            command.name,
            help=command.summary,
            description=command.description,
            epilog=command.examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )
        command.configure(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tca-gate`` command line; returns the exit code.

    An exception nobody expected is reported as an internal error, exit 70: it must
    never end as 0 (allowed) or 1 (denied). Neither must a closed stdout (exit 141,
    whatever the command) or Ctrl-C (exit 130, without a traceback).
    """
    try:
        code = _main(argv)
        if sys.stdout is not None:  # None when the process was started without a stdout
            sys.stdout.flush()  # a closed pipe is found here, not in the interpreter's last flush
        return code
    except BrokenPipeError:  # the reader left early (``| head``): no traceback, no answer
        _detach_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as error:  # the last line of defence, by design
        return _internal_error(error)


def _internal_error(error: Exception) -> int:
    """One line on stderr (after the traceback under ``TCA_GATE_DEBUG``); exit 70."""
    debug = bool(os.environ.get(DEBUG_VARIABLE))
    try:
        message = _reason(error)
    except Exception:  # an exception whose text cannot be made: its type still says a lot
        message = "(its message cannot be shown)"
    hint = "" if debug else f"; set {DEBUG_VARIABLE}=1 for the traceback"
    line = (
        f"{PROG}: internal error: {type(error).__name__}{': ' + message if message else ''} "
        f"(a bug in {PROG}, not a decision: please report it with the command that caused "
        f"it{hint})"
    )
    try:
        if debug:
            traceback.print_exception(error, file=sys.stderr)
        print(line, file=sys.stderr)
    except (OSError, ValueError):  # stderr is closed or gone: the exit code still says it
        pass
    return EXIT_INTERNAL_ERROR


def _main(argv: Sequence[str] | None) -> int:
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
    return code


def _detach_stdout() -> None:
    """Point stdout at the null device so that the interpreter's last flush cannot fail."""
    try:
        stdout = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (AttributeError, OSError, ValueError):  # None, or not a real file (in tests)
        return
    try:
        os.dup2(devnull, stdout)
    except OSError:
        pass
    finally:
        os.close(devnull)
