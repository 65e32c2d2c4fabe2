"""The ``check`` and ``explain`` commands: decide on a balance sheet, and say why."""

from __future__ import annotations

import argparse

from tca_gate.rules import compile_rule

from ._balances import BalancesError, read_balances, typo_warnings
from ._command import Command, add_rule_arguments
from ._console import Console, decision_lines, print_json
from ._input import MAX_INPUT_TEXT
from ._status import EXIT_DENIED, EXIT_OK, EXIT_USAGE, STOPPED_HELP, CliError


def _add_check_arguments(parser: argparse.ArgumentParser, *, explain_flag: bool) -> None:
    add_rule_arguments(parser)
    parser.add_argument(
        "--balances",
        required=True,
        metavar="JSON|@FILE",
        help="a JSON object of asset to amount, inline, @path, or @- for stdin "
        f"(at most {MAX_INPUT_TEXT})",
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
        print_json(console, decision.to_dict())
    else:
        console.say(console.verdict(decision.allowed, _word(decision.allowed)))
        if args.explain:
            for line in decision_lines(decision, console):
                console.say(line)
    return EXIT_OK if decision.allowed else EXIT_DENIED


def _word(allowed: bool) -> str:
    return "allowed" if allowed else "denied"


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

exit status: 0 allowed, 1 denied, 2 usage error or bad balances, 3 rule error,
70 internal error (a bug in tca-gate, never a decision),
{STOPPED_HELP}
"""

_EXPLAIN_EXAMPLES = f"""\
{_BALANCES_HELP}
examples:
  tca-gate explain 'LTBCOIN >= 10000 or LTBSTAFF >= 1' --balances '{{"LTBCOIN": 9000}}'
  tca-gate explain 'TOKENLY=10&op_0=<' --balances @holdings.json --json

exit status: 0 allowed, 1 denied, 2 usage error or bad balances, 3 rule error,
70 internal error (a bug in tca-gate, never a decision),
{STOPPED_HELP}
"""

CHECK = Command(
    "check",
    "decide whether a balance sheet satisfies a rule",
    "Decide whether the holder of BALANCES satisfies RULE: prints allowed or denied.",
    _CHECK_EXAMPLES,
    lambda parser: _add_check_arguments(parser, explain_flag=True),
    _run_check,
)

EXPLAIN = Command(
    "explain",
    "the decision with its reasons (check --explain)",
    "Decide as check does, and say why: a sentence and every clause's figures.",
    _EXPLAIN_EXAMPLES,
    _add_explain_arguments,
    _run_check,
)
