"""The ``lint`` and ``fmt`` commands, which read a rule alone: its warnings, its canonical text."""

from __future__ import annotations

import argparse

from tca_gate.errors import caret_context
from tca_gate.rules import LintWarning, compile_rule

from ._command import Command, add_rule_arguments
from ._console import Console, print_json
from ._status import EXIT_DENIED, EXIT_OK, STOPPED_HELP

# ---------------------------------------------------------------- lint


def _add_lint_arguments(parser: argparse.ArgumentParser) -> None:
    add_rule_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the warnings as JSON")
    parser.add_argument(
        "--fail-on-warning", action="store_true", help="exit 1 when there is any warning"
    )


def _run_lint(args: argparse.Namespace, console: Console) -> int:
    rule = compile_rule(args.rule, args.dialect)
    warnings = rule.lint()
    if args.json:
        print_json(console, {"rule": str(rule), "warnings": [_warning_dict(w) for w in warnings]})
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


_LINT_EXAMPLES = f"""\
examples:
  tca-gate lint 'LTBCOIN=0'
  tca-gate lint 'LTBCOIN > 10 and LTBCOIN < 5' --json
  tca-gate lint 'LTBCOIN=1&stackOp_1=OR&TOKENLY=1' --dialect tokenpass --fail-on-warning

exit status: 0 done (even with warnings), 1 warnings under --fail-on-warning,
2 usage error, 3 rule error, 70 internal error (a bug in tca-gate),
{STOPPED_HELP}
"""

LINT = Command(
    "lint",
    "warn about legal but suspicious rules",
    "Report parts of RULE that are legal but probably not what was meant.",
    _LINT_EXAMPLES,
    _add_lint_arguments,
    _run_lint,
)


# ---------------------------------------------------------------- fmt


def _add_fmt_arguments(parser: argparse.ArgumentParser) -> None:
    add_rule_arguments(parser)
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


_FMT_EXAMPLES = f"""\
examples:
  tca-gate fmt 'LTBCOIN >= 10000 or LTBSTAFF >= 1' --to query
  tca-gate fmt 'LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR' --to expr
  tca-gate fmt 'LTBCOIN=1e3&ltbcoin=5' --dialect tokenpass --to query

exit status: 0 done, 2 usage error, 3 the rule does not compile or cannot be
written in the form asked for, 70 internal error (a bug in tca-gate),
{STOPPED_HELP}
"""

FMT = Command(
    "fmt",
    "print a rule's canonical text",
    "Print RULE in canonical form, as a stack query or a readable expression.",
    _FMT_EXAMPLES,
    _add_fmt_arguments,
    _run_fmt,
)
