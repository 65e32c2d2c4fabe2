"""The ``audit`` command: who among the holders of a file passes each rule of a rule set."""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tca_gate.errors import BalanceFileError, InvalidBalancesError, RuleSyntaxError, shorten
from tca_gate.rules import Dialect, Rule, compile_rule

from ._command import Command
from ._console import Console
from ._echo import ECHO_LIMIT, clip_path, name_list, quoted
from ._status import EXIT_OK, EXIT_RULE_ERROR, EXIT_USAGE, STOPPED_HELP, CliError
from ._testfile import load_rule_set

if TYPE_CHECKING:
    from tca_gate.audit import AuditResult, Holdings

_FORMATS = ("csv", "jsonl", "parquet")


def _add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "rules", metavar="RULES", help="a TOML file whose [rules] table names the rules"
    )
    parser.add_argument(
        "--holders",
        required=True,
        metavar="FILE",
        help="the holders: .csv, .jsonl or .parquet, wide or long (see below)",
    )
    parser.add_argument(
        "--format", choices=_FORMATS, help="the holder file's format (default: its extension)"
    )
    parser.add_argument(
        "--sat", action="store_true", help="amounts are whole base units (1 token = 100000000)"
    )
    parser.add_argument(
        "--rule",
        action="append",
        metavar="NAME",
        help="audit only this rule of the file (repeat for several; default: every rule)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help="print who passes each rule as one JSON object"
    )
    output.add_argument(
        "--csv", action="store_true", help="print a CSV row per holder: holder, then 1 or 0 a rule"
    )


def _run_audit(args: argparse.Namespace, console: Console) -> int:
    try:
        from rich.console import Console as RichConsole  # noqa: PLC0415 (the audit extra)
        from rich.progress import Progress  # noqa: PLC0415

        from tca_gate.audit import audit, read_holdings  # noqa: PLC0415
    except ImportError as error:
        raise CliError(EXIT_USAGE, str(error)) from None
    texts, dialect = load_rule_set(args.rules)
    rules = _compile(_chosen(texts, args.rule, args.rules), dialect, args.rules)
    terminal = bool(getattr(console.err, "isatty", None) and console.err.isatty())
    with Progress(
        console=RichConsole(file=console.err), disable=not terminal, transient=True
    ) as progress:
        with (
            _holder_errors(args.holders),
            progress.open(args.holders, "rb", description="reading holders") as file,
        ):
            holdings = read_holdings(file, format=args.format, sat=args.sat, name=args.holders)
        progress.add_task(f"judging {len(holdings):,} holders", total=None)
        result = audit(rules, holdings)
    _warn_missing(console, rules, holdings)
    if args.json:
        # One line: indenting makes json use its pure-Python encoder, ten times slower.
        console.say(json.dumps(result.to_dict(), ensure_ascii=False))
    elif args.csv:
        _print_csv(console, result)
    else:
        _print_summary(console, result, holdings)
    return EXIT_OK


def _chosen(texts: dict[str, str], names: Sequence[str] | None, path: str) -> dict[str, str]:
    """The rules ``--rule`` names (in the file's order), or all of them."""
    if not names:
        return texts
    for name in names:
        if name not in texts:
            close = difflib.get_close_matches(name, list(texts), n=1)
            hint = f"; did you mean {quoted(close[0])}?" if close else ""
            raise CliError(
                EXIT_USAGE,
                f"--rule {quoted(name)}: {clip_path(path)} has no such rule"
                f" (known: {name_list(texts)}){hint}",
            )
    return {name: text for name, text in texts.items() if name in names}


def _compile(texts: dict[str, str], dialect: Dialect, path: str) -> dict[str, Rule]:
    """Every rule compiled; each one that does not compile is reported (exit 3)."""
    compiled: dict[str, Rule] = {}
    problems: list[str] = []
    for name, text in texts.items():
        try:
            compiled[name] = compile_rule(text, dialect)
        except RuleSyntaxError as error:
            shown = f"{clip_path(path)}: rules.{shorten(name, ECHO_LIMIT)}"
            problems.append(f"{shown} does not compile in the {dialect} dialect:\n{error}")
    if problems:
        raise CliError(EXIT_RULE_ERROR, "\n".join(problems))
    return compiled


@contextmanager
def _holder_errors(path: str) -> Iterator[None]:
    """A holder file that cannot be opened or read: exit 2, naming it."""
    try:
        yield
    except (BalanceFileError, InvalidBalancesError) as error:
        raise CliError(EXIT_USAGE, str(error)) from None
    except ImportError as error:  # Parquet without pyarrow: the message names the extra
        raise CliError(EXIT_USAGE, str(error)) from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise CliError(EXIT_USAGE, f"cannot read {clip_path(path)}: {reason}") from None


def _warn_missing(console: Console, rules: dict[str, Rule], holdings: Holdings) -> None:
    """On stderr: each asset a rule reads that no column of the file has (a typo?)."""
    held = set(holdings.assets)
    for name, rule in rules.items():
        missing = [asset for asset in rule.assets if asset not in held]
        if missing:
            console.warn(
                f"rule {quoted(name)} reads {name_list(missing)}, which no holder in the file"
                " has a column or row for: every holder counts as holding none"
            )


def _print_summary(console: Console, result: AuditResult, holdings: Holdings) -> None:
    total = len(holdings)
    rows = [(name, f"{result.count(name):,} of {total:,}") for name in result.rules]
    width = max(len("rule"), *(len(name) for name, _ in rows))
    console.say(f"{'rule'.ljust(width)}  passed")
    for name, passed in rows:
        console.say(f"{name.ljust(width)}  {passed}")
    plural = "s" if total != 1 else ""
    console.say(f"{total:,} holder{plural}, {len(rows)} rule{'s' if len(rows) != 1 else ''}")


def _print_csv(console: Console, result: AuditResult) -> None:
    """The whole table built first, then written: nothing half-written if building fails."""
    names = list(result.rules)
    columns = [result.mask(name).view("uint8").tolist() for name in names]  # 1 or 0
    table = io.StringIO()
    writer: Any = csv.writer(table, lineterminator="\n")
    writer.writerow(["holder", *names])
    writer.writerows(zip(result.holdings.holders, *columns, strict=True))
    console.out.write(table.getvalue())


_AUDIT_EXAMPLES = f"""\
RULES is a TOML file with a [rules] table of name = "rule text" and, optionally,
dialect = "strict" or "tokenpass": a test file of `tca-gate test` does (its
cases are not read).

holder files (the format from the extension: .csv, .jsonl or .ndjson, .parquet):
  wide: a holder column and one column per asset; an empty cell or null is 0
  long: exactly the columns holder, asset, amount; a row per balance, a holder
        on several rows, the same holder and asset twice an error
Amounts are tokens with at most 8 decimal places (10000, 0.5), or whole base
units with --sat: no sign, no exponent, no float. In Parquet an integer column
is whole tokens (base units with --sat), a decimal one is exact, a text one is
read as CSV cells are, any other (float, bool...) is refused. Asset names are
upper-cased up to any '.', as strict rules read them. An error names the file,
the line (CSV, the header being line 1; JSON lines) or the row (Parquet, from 1)
and the column. --csv writes names as they are: a spreadsheet takes one that
starts with =, +, - or @ as a formula (import such output as text).

output: a table of rules with how many holders pass each; --json, on one line:
  {{"rules": {{NAME: {{"passed": COUNT, "holders": [HOLDER, ...]}}}}, "holders": COUNT}}
with passing holders in the file's order; --csv: a header (holder, then each
rule's name) and a row per holder in the file's order, 1 if they pass the rule,
0 if not. A progress bar is drawn on stderr when it is a terminal.

examples:
  tca-gate audit examples/rules.toml --holders examples/holders.csv
  tca-gate audit examples/rules.toml --holders examples/holders.csv --rule premium --json
  tca-gate audit rules.toml --holders members.parquet --sat --csv > roles.csv

exit status: 0 audited (whoever passed), 2 usage error, an unreadable rules or
holder file or a bad row, 3 a rule that does not compile, 70 internal error (a
bug in tca-gate),
{STOPPED_HELP}
"""

AUDIT = Command(
    "audit",
    "who among the holders of a file passes each rule (CSV, JSON lines, Parquet)",
    "Judge every rule of RULES over every holder of a file at once, exactly.",
    _AUDIT_EXAMPLES,
    _add_audit_arguments,
    _run_audit,
)
