"""The ``test`` command: compile a test file's rules, run its cases, and report each one."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from tca_gate.cli import (
    __doc__ as _manual,  # the package's docstring: the manual, ending on test files
)
from tca_gate.errors import RuleSyntaxError, shorten
from tca_gate.rules import Decision, Rule, compile_rule

from ._balances import typo_warnings
from ._command import Command
from ._console import Console, decision_lines, print_json
from ._echo import ECHO_LIMIT, clip_path, quoted
from ._status import EXIT_OK, EXIT_RULE_ERROR, EXIT_TEST_FAILED, STOPPED_HELP, CliError
from ._testfile import Case, Suite, load_test_file


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
                    f"{clip_path(suite.path)}: case {case.number} ({quoted(case.name)}): "
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
        print_json(console, {"passed": passed_count, "failed": failed, "cases": results})
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


_TEST_EXAMPLES = (
    "test files:\n"
    + (_manual or "").partition("----------\n")[2]
    + f"""
examples:
  tca-gate test examples/rules.toml
  tca-gate test examples/rules.toml --json

exit status: 0 every case passed, 2 usage error or malformed file, 3 a rule in
the file does not compile, 4 some case failed, 70 internal error (a bug in
tca-gate, never a test result),
{STOPPED_HELP}
"""
)

TEST = Command(
    "test",
    "run a TOML file of rule test cases (for CI)",
    "Run every case of a TOML test file: each is a rule, balances, and allow or deny.",
    _TEST_EXAMPLES,
    _add_test_arguments,
    _run_test,
)
