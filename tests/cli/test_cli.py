"""The ``tca-gate`` command line, run in-process through ``main`` (and once as a process)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tca_gate import __version__, cli, compile_rule, errors
from tca_gate.cli import _balances, _check, _echo, _lint_fmt, _testrun, main
from tca_gate.rules import _amounts, _stack
from tca_gate.rules import _dialect_strict as _strict
from tests.support.data import FIXTURES as DATA
from tests.support.data import ROOT

FIXTURES = DATA / "cli"
#: The modules whose commands compile a rule, each with its own ``compile_rule``.
COMPILING = (_check, _lint_fmt, _testrun)
PREMIUM = "LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR"
ESC = "\x1b["


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fixture(name: str) -> str:
    return str(FIXTURES / name)


def stdin_of(text: str) -> io.TextIOWrapper:
    """A stdin holding ``text`` as UTF-8 bytes, as a process gets it."""
    return io.TextIOWrapper(io.BytesIO(text.encode()), "utf-8")


def write(tmp_path: Path, text: str, name: str = "cases.toml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------- check


def test_check_allowed_prints_one_word_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "check", PREMIUM, "--balances", '{"LTBSTAFF": 1}') == (0, "allowed\n", "")


def test_check_denied_prints_one_word_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "check", PREMIUM, "--balances", '{"LTBCOIN": 9999}') == (1, "denied\n", "")


@pytest.mark.parametrize(
    ("balances", "flags", "code"),
    [
        ('{"LTBSTAFF": 1}', [], 0),  # 1 token
        ('{"LTBSTAFF": 1}', ["--sat"], 1),  # 1 base unit
        ('{"LTBSTAFF": 99999999}', ["--sat"], 1),
        ('{"LTBSTAFF": 100000000}', ["--sat"], 0),
        ('{"LTBSTAFF": "100000000"}', ["--sat"], 0),
        ('{"LTBSTAFF": "0.99999999"}', [], 1),
        ('{"LTBSTAFF": "1"}', [], 0),
    ],
)
def test_amounts_are_tokens_unless_sat(
    capsys: pytest.CaptureFixture[str], balances: str, flags: list[str], code: int
) -> None:
    assert run(capsys, "check", PREMIUM, "--balances", balances, *flags)[0] == code


_EXACT = [
    ("0.00000001", 1),
    ("0.29", 29_000_000),  # through a float: 28999999
    ("1.13", 113_000_000),  # through a float: 112999999
    ("0.3", 30_000_000),
    ("92233720368.54775807", 2**63 - 1),  # through a float: 2**63
    ("-1.5", -150_000_000),
    ("7", 700_000_000),
]


@pytest.mark.parametrize(
    ("value", "sat"),
    [
        *_EXACT,
        *((f'"{amount}"', sat) for amount, sat in _EXACT),
        ("1e3", 100_000_000_000),
        ("1.5E-7", 15),
    ],
)
def test_token_amounts_convert_exactly(
    capsys: pytest.CaptureFixture[str], value: str, sat: int
) -> None:
    balances = f'{{"LTBCOIN": {value}}}'
    code, out, _ = run(capsys, "check", "LTBCOIN >= 1", "--balances", balances, "--json")
    (clause,) = json.loads(out)["groups"][0]["clauses"]
    assert int(clause["actual"]) == sat
    assert code == (0 if sat >= 100_000_000 else 1)


def test_exact_amounts_decide_equality(capsys: pytest.CaptureFixture[str]) -> None:
    # 0.1 + 0.2 as binary floats is not 0.3; here both sides are exact.
    assert run(capsys, "check", "LTBCOIN == 0.3", "--balances", '{"LTBCOIN": 0.3}')[0] == 0
    assert run(capsys, "check", "LTBCOIN == 0.29", "--balances", '{"LTBCOIN": 0.29}')[0] == 0


@pytest.mark.parametrize(
    ("balances", "flags", "problem"),
    [
        ('{"LTBCOIN": "1,000"}', [], "is not a decimal token amount"),
        ('{"LTBCOIN": 1e-9}', [], "more than 8 decimal places"),
        ('{"LTBCOIN": "0.000000001"}', [], "more than 8 decimal places"),
        ('{"LTBCOIN": true}', [], "not the boolean true"),
        ('{"LTBCOIN": null}', [], "not null"),
        ('{"LTBCOIN": [1]}', [], "not an array"),
        ('{"LTBCOIN": NaN}', [], "not a finite number"),
        ('{"LTBCOIN": 1e999999}', [], "a balance must be under 10^40 tokens"),
        ('{"LTBCOIN": 1.5}', ["--sat"], "not a whole number of base units"),
        ('{"LTBCOIN": "1.5"}', ["--sat"], "not a whole number of base units"),
        ('{"LTBCOIN": "0x10"}', ["--sat"], "not a whole number of base units"),
        ('{"LTBCOIN": 1e3}', ["--sat"], "not a whole number of base units"),
    ],
)
def test_bad_amounts_exit_2_naming_the_asset(
    capsys: pytest.CaptureFixture[str], balances: str, flags: list[str], problem: str
) -> None:
    code, out, err = run(capsys, "check", "LTBCOIN >= 1", "--balances", balances, *flags)
    assert (code, out) == (2, "")
    assert "the balance of LTBCOIN" in err
    assert problem in err


@pytest.mark.parametrize(
    ("balances", "problem"),
    [
        ("{", "is not valid JSON"),
        ('[["LTBCOIN", 1]]', "must be a JSON object of asset to amount"),
        ('{"LTBCOIN": 1, "LTBCOIN": 2}', "LTBCOIN appears twice"),
        ('{"LTBCOIN": 1, "ltbcoin": 2}', "LTBCOIN and ltbcoin both name the asset LTBCOIN"),
        ('{"": 1}', "an asset name is empty"),
        ("@/no/such/balances.json", "cannot read balances from /no/such/balances.json"),
    ],
)
def test_bad_balances_exit_2(
    capsys: pytest.CaptureFixture[str], balances: str, problem: str
) -> None:
    code, out, err = run(capsys, "check", "LTBCOIN >= 1", "--balances", balances)
    assert (code, out) == (2, "")
    assert err.startswith("tca-gate check: error: ")
    assert problem in err


def test_balances_from_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = "@" + fixture("balances.json")  # LTBCOIN 9999.99999999
    assert run(capsys, "check", "LTBCOIN >= 10000", "--balances", path)[0] == 1
    assert run(capsys, "check", "LTBCOIN >= 9999.99999999", "--balances", path)[0] == 0


def test_balances_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", stdin_of('{"LTBSTAFF": "1"}'))
    assert run(capsys, "check", PREMIUM, "--balances", "@-") == (0, "allowed\n", "")


@pytest.mark.parametrize(
    ("rule", "balances", "code"),
    [
        ("LTBCOIN >= 1", '{"ltbcoin": 1}', 0),
        ("A12345 >= 1", '{"a12345": 1}', 0),
        ("LTBCOIN.Gold >= 1", '{"ltbcoin.Gold": 1}', 0),
        ("LTBCOIN.Gold >= 1", '{"LTBCOIN.GOLD": 1}', 1),  # a subasset's child keeps its case
    ],
)
def test_asset_names_in_balances_are_read_as_rules_read_them(
    capsys: pytest.CaptureFixture[str], rule: str, balances: str, code: int
) -> None:
    assert run(capsys, "check", rule, "--balances", balances)[0] == code


def test_a_probable_typo_in_balances_is_reported_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "check", PREMIUM, "--balances", '{"LTBSTAF": 1, "TOKENLY": 1}')
    assert (code, out) == (1, "denied\n")
    assert err == (
        "tca-gate: warning: the balances hold LTBSTAF, which the rule does not read "
        "(it reads LTBSTAFF: a typo in one of them?)\n"
    )


def test_a_typo_in_the_rule_is_not_blamed_on_the_balances(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "check", "LTBCION >= 10", "--balances", '{"LTBCOIN": 20}')
    assert (code, out) == (1, "denied\n")
    assert err == (
        "tca-gate: warning: the balances hold LTBCOIN, which the rule does not read "
        "(it reads LTBCION: a typo in one of them?)\n"
    )
    assert "did you mean" not in err


def test_check_rule_error_exits_3_with_the_caret(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "X=1", "--balances", "{}")
    assert (code, out) == (3, "")
    assert err.startswith("tca-gate check: rule error: 'X' is not an asset name")
    assert "\n  X=1\n  ^\n" in err


def test_the_dialect_decides_how_the_rule_is_read(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("check", "LTBCOIN=1e3", "--balances", '{"LTBCOIN": 1000}')
    assert run(capsys, *args)[0] == 3
    assert run(capsys, *args, "--dialect", "tokenpass")[0] == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["check", PREMIUM],  # no --balances
        ["check", PREMIUM, "--balances", "{}", "--dialect", "php"],
        ["check", "--balances", "{}"],  # no rule
        ["frobnicate"],
        [],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert "usage: tca-gate" in err


def test_explain_shows_the_summary_and_every_clause(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "check", PREMIUM, "--balances", '{"LTBCOIN": "9999.5"}', "--explain"
    )
    assert (code, err) == (1, "")
    lines = out.splitlines()
    summary = compile_rule(PREMIUM).explain({"LTBCOIN": 999_950_000_000}).summary
    assert summary == "Needs 0.5 more LTBCOIN, or 1 LTBSTAFF."
    assert lines[:4] == [
        "denied",
        summary,
        "",
        "rule: LTBCOIN >= 10000 or LTBSTAFF >= 1",
    ]
    assert lines[4].split() == ["asset", "op", "required", "actual", "result", "shortfall"]
    assert lines[5:] == [
        "  group 0 (closest): fail",
        "    LTBCOIN   >=    10,000  9,999.5  fail         +0.5",
        "  group 1: fail",
        "    LTBSTAFF  >=         1        0  fail           +1",
    ]


def test_explain_shows_passing_give_up_and_impossible_clauses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rule = "TOKENLY == 5 and LTBCOIN >= 1 or LTBCOIN <= 0"
    code, out, _ = run(capsys, "explain", rule, "--balances", '{"TOKENLY": 7, "LTBCOIN": 2}')
    assert code == 1
    rows = {tuple(line.split()) for line in out.splitlines()}
    assert ("TOKENLY", "==", "5", "7", "fail", "-2") in rows
    assert ("LTBCOIN", ">=", "1", "2", "pass", "0") in rows
    assert ("LTBCOIN", "<=", "0", "2", "fail", "impossible") in rows


def test_explain_when_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "explain", PREMIUM, "--balances", '{"LTBSTAFF": 2}')
    assert code == 0
    assert out.splitlines()[:2] == ["allowed", "Allowed: holds at least 1 LTBSTAFF."]
    assert "  group 1: pass" in out.splitlines()
    assert "closest" not in out


def test_explain_is_check_explain(capsys: pytest.CaptureFixture[str]) -> None:
    for balances in ('{"LTBCOIN": 12}', '{"LTBCOIN": 10000}'):
        explained = run(capsys, "explain", PREMIUM, "--balances", balances)
        checked = run(capsys, "check", PREMIUM, "--balances", balances, "--explain")
        assert explained == checked
        assert explained[1].count("\n") > 5


@pytest.mark.parametrize("command", [["check"], ["check", "--explain"], ["explain"]])
def test_json_output_is_the_decision(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    code, out, err = run(
        capsys, command[0], PREMIUM, "--balances", '{"LTBCOIN": "12.5"}', "--json", *command[1:]
    )
    assert (code, err) == (1, "")
    expected = compile_rule(PREMIUM).explain({"LTBCOIN": 1_250_000_000}).to_dict()
    assert json.loads(out) == expected


def test_no_colour_when_stdout_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    _, out, _ = run(capsys, "explain", PREMIUM, "--balances", "{}")
    assert ESC not in out
    assert out.startswith("denied\n")


def as_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the captured stdout claim to be a terminal (call it inside the test)."""
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")


def test_colour_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    as_terminal(monkeypatch)
    _, out, _ = run(capsys, "check", PREMIUM, "--balances", "{}")
    assert out == "\x1b[31mdenied\x1b[0m\n"
    _, out, _ = run(capsys, "check", PREMIUM, "--balances", '{"LTBSTAFF": 1}')
    assert out == "\x1b[32mallowed\x1b[0m\n"


@pytest.mark.parametrize(("no_color", "coloured"), [("1", False), ("", True)])
def test_no_color_turns_colour_off(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    no_color: str,
    coloured: bool,
) -> None:
    as_terminal(monkeypatch)
    monkeypatch.setenv("NO_COLOR", no_color)  # https://no-color.org: set and non-empty
    _, out, _ = run(capsys, "check", PREMIUM, "--balances", "{}")
    assert (ESC in out) is coloured


def test_json_is_never_coloured(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    as_terminal(monkeypatch)
    _, out, _ = run(capsys, "check", PREMIUM, "--balances", "{}", "--json")
    assert ESC not in out
    assert json.loads(out)["allowed"] is False


# ---------------------------------------------------------------- lint


def test_lint_without_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "lint", PREMIUM) == (0, "no warnings\n", "")
    assert run(capsys, "lint", PREMIUM, "--fail-on-warning") == (0, "no warnings\n", "")


def test_lint_prints_code_message_and_caret(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "lint", "LTBCOIN=1&stackop_0=OR")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "stackop-0: stackop_0 has no effect: clause 0 always starts the first group",
        "  LTBCOIN=1&stackop_0=OR",
        "            ^",
        "1 warning",
    ]


def test_lint_fail_on_warning_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    rule = "LTBCOIN=1&stackOp_1=OR&TOKENLY=1"
    code, out, _ = run(capsys, "lint", rule, "--dialect", "tokenpass", "--fail-on-warning")
    assert code == 1
    assert "dialect-mismatch: Tokenpass reads stackOp_1 as an asset named STACKOP_1" in out
    count = len(compile_rule(rule, "tokenpass").lint())
    assert count > 1
    assert out.endswith(f"{count} warnings\n")
    assert run(capsys, "lint", rule, "--dialect", "tokenpass")[0] == 0


def test_lint_json(capsys: pytest.CaptureFixture[str]) -> None:
    rule = "LTBCOIN >= 0 or TOKENLY < 0"
    code, out, _ = run(capsys, "lint", rule, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["rule"] == "LTBCOIN >= 0 or TOKENLY < 0"
    expected = compile_rule(rule).lint()
    assert [w["code"] for w in document["warnings"]] == [w.code for w in expected]
    assert [w["position"] for w in document["warnings"]] == [w.position for w in expected]
    assert {"always-true", "never-true"} <= {w["code"] for w in document["warnings"]}


def test_lint_rule_error_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "lint", "LTBCOIN=1&op_0=>>")
    assert (code, out) == (3, "")
    assert "op_0 must be an operator" in err
    assert "^^" in err


# ---------------------------------------------------------------- fmt


@pytest.mark.parametrize(
    ("argv", "printed"),
    [
        (["LTBCOIN >= 10000 or LTBSTAFF >= 1", "--to", "query"], PREMIUM),
        ([PREMIUM, "--to", "expr"], "LTBCOIN >= 10000 or LTBSTAFF >= 1"),
        (["ltbcoin=0.50", "--to", "query"], "LTBCOIN=0.5"),
        (["LTBCOIN=1&LTBCOIN=2", "--dialect", "tokenpass", "--to", "query"], "LTBCOIN=2"),
    ],
)
def test_fmt_prints_canonical_text(
    capsys: pytest.CaptureFixture[str], argv: list[str], printed: str
) -> None:
    assert run(capsys, "fmt", *argv) == (0, printed + "\n", "")


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["X=1", "--dialect", "tokenpass", "--to", "expr"], "not an asset name strict text"),
        (["X=1", "--to", "query"], "'X' is not an asset name"),
    ],
)
def test_fmt_rule_errors_exit_3(
    capsys: pytest.CaptureFixture[str], argv: list[str], problem: str
) -> None:
    code, out, err = run(capsys, "fmt", *argv)
    assert (code, out) == (3, "")
    assert err.startswith("tca-gate fmt: rule error: ")
    assert problem in err


def test_fmt_needs_a_target(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "fmt", PREMIUM)
    assert code == 2
    assert "--to" in err


# ---------------------------------------------------------------- test files


def test_a_passing_file_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "test", fixture("passing.toml"))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "PASS  staff get in without LTBCOIN"
    assert lines[-1] == "6 passed, 0 failed"
    assert sum(line.startswith("PASS  ") for line in lines) == 6


def test_a_failing_file_exits_4_and_explains_the_failure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "test", fixture("failing.toml"))
    assert code == 4
    lines = out.splitlines()
    assert lines[0] == "PASS  staff get in"
    assert lines[1] == "FAIL  a whale just short of the threshold: expected allow, got deny"
    assert lines[2] == "  " + compile_rule(PREMIUM).explain({"LTBCOIN": 999_950_000_000}).summary
    assert "      LTBCOIN   >=    10,000  9,999.5  fail         +0.5" in lines
    assert lines[-1] == "1 passed, 1 failed"


def test_json_results(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "test", fixture("failing.toml"), "--json")
    assert code == 4
    document = json.loads(out)
    assert (document["passed"], document["failed"]) == (1, 1)
    staff, whale = document["cases"]
    assert (staff["name"], staff["passed"], whale["passed"]) == ("staff get in", True, False)
    assert whale["expect"] == "allow"
    assert whale["uses"] == "premium"
    assert (
        whale["decision"] == compile_rule(PREMIUM).explain({"LTBCOIN": 999_950_000_000}).to_dict()
    )


def test_the_documented_example_file_passes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.__doc__ is not None
    example = cli.__doc__.split("allow or deny it:\n", 1)[1].split("\nBalances are", 1)[0]
    code, out, _ = run(capsys, "test", write(tmp_path, example))
    assert code == 0
    assert out.splitlines()[-1] == "3 passed, 0 failed"


def test_a_toml_float_amount_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "test", fixture("float-amount.toml"))
    assert (code, out) == (2, "")
    assert "case 1 ('half a token'), balances" in err
    assert "the balance of LTBCOIN is the TOML float 0.5" in err
    assert 'quote it, LTBCOIN = "0.5"' in err


def test_a_rule_that_does_not_compile_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "test", fixture("bad-rule.toml"))
    assert (code, out) == (3, "")
    assert "case 1 ('uses a broken rule'): rules.broken does not compile" in err
    assert "  LTBCOIN=1&op_0=>>\n" in err


def test_an_unused_rule_that_does_not_compile_exits_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        """
        [rules]
        good = "LTBCOIN >= 1"
        spare = "LTBCOIN >>= 1"

        [[case]]
        name = "fine"
        uses = "good"
        balances = { LTBCOIN = 1 }
        expect = "allow"
        """,
    )
    code, out, err = run(capsys, "test", path)
    assert (code, out) == (3, "")
    assert "rules.spare does not compile" in err


def test_file_defaults_apply_to_every_case(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        """
        dialect = "tokenpass"
        sat = true

        [[case]]
        name = "exponent, in base units"
        rule = "LTBCOIN=1e3"
        balances = { LTBCOIN = 100000000000 }
        expect = "allow"

        [[case]]
        name = "one base unit short"
        rule = "LTBCOIN=1e3"
        balances = { LTBCOIN = "99999999999" }
        expect = "deny"

        [[case]]
        name = "a case can go back to tokens and strict"
        rule = "LTBCOIN >= 1000"
        dialect = "strict"
        sat = false
        balances = { LTBCOIN = 1000 }
        expect = "allow"
        """,
    )
    code, out, _ = run(capsys, "test", path)
    assert code == 0, out
    assert out.splitlines()[-1] == "3 passed, 0 failed"


def test_typos_are_reported_under_the_case(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        """
        [[case]]
        name = "passes only because of a typo"
        rule = "LTBCOIN >= 1"
        balances = { LTBCION = 5 }
        expect = "deny"
        """,
    )
    code, out, _ = run(capsys, "test", path)
    assert code == 0
    assert out.splitlines()[:2] == [
        "PASS  passes only because of a typo",
        "      warning: the balances hold LTBCION, which the rule does not read "
        "(it reads LTBCOIN: a typo in one of them?)",
    ]


_CASE = 'name = "c"\nrule = "LTBCOIN >= 1"\nbalances = { LTBCOIN = 1 }\nexpect = "allow"\n'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[case]\n", "is not valid TOML"),
        ("[[cases]]\n" + _CASE, "cases: unknown key; did you mean 'case'?"),
        ('[rules]\nx = "LTBCOIN >= 1"\n', "case: the file has no [[case]] entries"),
        ("[case]\n" + _CASE, "case: cases are written as [[case]] tables"),
        ("[rules]\nx = 1\n[[case]]\n" + _CASE, "rules.x: must be the rule's text"),
        ('dialect = "php"\n[[case]]\n' + _CASE, 'dialect: must be "strict" or "tokenpass"'),
        ("sat = 1\n[[case]]\n" + _CASE, "sat: must be true or false, not the integer 1"),
        ("[[case]]\n" + _CASE.replace('name = "c"\n', ""), "case 1: every case needs a name"),
        (
            "[[case]]\n" + _CASE + 'uses = "x"\n',
            "case 1 ('c'): give either rule",
        ),
        (
            "[[case]]\n" + _CASE.replace('rule = "LTBCOIN >= 1"\n', ""),
            "case 1 ('c'): give either rule",
        ),
        (
            '[rules]\npremium = "LTBCOIN >= 1"\n[[case]]\n'
            + _CASE.replace('rule = "LTBCOIN >= 1"', 'uses = "premum"'),
            "case 1 ('c'), uses: no rule named 'premum' in [rules] (known: premium); "
            "did you mean 'premium'?",
        ),
        ("[[case]]\n" + _CASE.replace("rule = ", "rule = 5 #"), "case 1 ('c'), rule: must be"),
        (
            "[[case]]\n" + _CASE.replace('expect = "allow"', 'expect = "allowed"'),
            "case 1 ('c'), expect: must be \"allow\" or \"deny\"; not the string 'allowed'",
        ),
        ("[[case]]\n" + _CASE.replace('expect = "allow"', ""), "case 1 ('c'), expect: must be"),
        (
            "[[case]]\n" + _CASE.replace("expect =", "expected ="),
            "case 1 ('c'), expected: unknown key; did you mean 'expect'?",
        ),
        ("[[case]]\n" + _CASE.replace("balances", "#"), "case 1 ('c'), balances: missing"),
        (
            "[[case]]\n" + _CASE.replace("{ LTBCOIN = 1 }", "5"),
            "case 1 ('c'), balances: must be a table",
        ),
        (
            "[[case]]\n" + _CASE.replace("1 }", '"1,5" }'),
            "case 1 ('c'), balances: the balance of LTBCOIN: '1,5' is not a decimal",
        ),
        (
            "[[case]]\n" + _CASE + "[[case]]\n" + _CASE,
            "case 2: name 'c' is already the name of case 1",
        ),
        (
            "[[case]]\n" + _CASE.replace("1 }", '"0.5" }') + "sat = true\n",
            "case 1 ('c'), balances: the balance of LTBCOIN is '0.5', not a whole number "
            "of base units (sat = true amounts are integers",
        ),
        ("[[case]]\n" + _CASE + "dialect = 7\n", "case 1 ('c'), dialect: must be"),
    ],
)
def test_malformed_files_exit_2_naming_case_and_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path, text)
    code, out, err = run(capsys, "test", path)
    assert (code, out) == (2, "")
    assert err.startswith(f"tca-gate test: error: {path}")
    assert problem in err


def test_a_missing_test_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "test", "/no/such/cases.toml")
    assert code == 2
    assert "cannot read /no/such/cases.toml" in err


# ---------------------------------------------------------------- help and version


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"tca-gate {__version__}\n", "")


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    listed = re.findall(r"^    (\w+) ", out, flags=re.MULTILINE)
    assert listed == ["check", "explain", "lint", "fmt", "test", "sandbox", "demo"]


@pytest.mark.parametrize("command", ["check", "explain", "lint", "fmt", "test", "sandbox", "demo"])
def test_every_command_has_examples_in_its_help(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    examples = out.split("examples:\n", 1)[1]
    assert f"  tca-gate {command} " in examples
    assert "exit status:" in out


def test_test_help_documents_the_file_format(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "test", "--help")
    for key in ("[rules]", "[[case]]", "uses = ", "balances = ", "expect = ", "TOML floats"):
        assert key in out


# ---------------------------------------------------------------- as a process


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tca_gate", "check", PREMIUM, "--balances", '{"LTBCOIN": 1}'],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (1, "denied\n", "")


def test_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    case = 'rule = "LTBCOIN >= 1"\nbalances = { LTBCOIN = 1 }\nexpect = "allow"\n'
    cases = "".join(f'[[case]]\nname = "case {n}"\n{case}' for n in range(400))
    path = write(tmp_path, cases)  # its JSON results are far larger than a pipe's buffer
    with subprocess.Popen(
        [sys.executable, "-m", "tca_gate", "test", path, "--json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.read(100)
        process.stdout.close()
        err = process.stderr.read()
        assert process.wait() == 141  # 128 + SIGPIPE, never 1 ("denied")
    assert err == b""


# ---------------------------------------------------------------- internal errors


def _boom(*args: object, **kwargs: object) -> object:
    raise RuntimeError("boom")


INTERNAL_ERROR = (
    "tca-gate: internal error: RuntimeError: boom (a bug in tca-gate, not a decision: please "
    "report it with the command that caused it; set TCA_GATE_DEBUG=1 for the traceback)\n"
)


@pytest.mark.parametrize(
    "argv",
    [
        ["check", PREMIUM, "--balances", "{}"],
        ["explain", PREMIUM, "--balances", "{}"],
        ["lint", PREMIUM],
        ["fmt", PREMIUM, "--to", "expr"],
        ["test", fixture("passing.toml")],
    ],
)
def test_an_unexpected_exception_exits_70_never_0_or_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    monkeypatch.delenv("TCA_GATE_DEBUG", raising=False)
    for module in COMPILING:
        monkeypatch.setattr(module, "compile_rule", _boom)
    assert run(capsys, *argv) == (70, "", INTERNAL_ERROR)


@pytest.mark.parametrize(("debug", "traceback"), [("1", True), ("", False)])
def test_tca_gate_debug_adds_the_traceback(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    debug: str,
    traceback: bool,
) -> None:
    monkeypatch.setenv("TCA_GATE_DEBUG", debug)
    for module in COMPILING:
        monkeypatch.setattr(module, "compile_rule", _boom)
    code, out, err = run(capsys, "check", PREMIUM, "--balances", "{}")
    assert (code, out) == (70, "")
    assert ("Traceback (most recent call last):" in err) is traceback
    assert ('raise RuntimeError("boom")' in err) is traceback
    last = err.splitlines()[-1]
    assert last.startswith("tca-gate: internal error: RuntimeError: boom (a bug in tca-gate")
    assert ("TCA_GATE_DEBUG" in last) is not traceback


def test_an_internal_error_is_one_short_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> object:
        raise ValueError("first line\nsecond line " + "x" * 1_000_000)

    monkeypatch.delenv("TCA_GATE_DEBUG", raising=False)
    for module in COMPILING:
        monkeypatch.setattr(module, "compile_rule", explode)
    code, _, err = run(capsys, "lint", PREMIUM)
    assert code == 70
    assert err.count("\n") == 1
    assert err.startswith("tca-gate: internal error: ValueError: first line second line xxx")
    assert len(err) < 500


def test_an_internal_error_exits_70_as_a_process(tmp_path: Path) -> None:
    script = tmp_path / "boom.py"
    script.write_text(
        "import sys\n"
        "import tca_gate.cli as cli\n"
        "import tca_gate.cli._check as check\n"
        "def boom(*args, **kwargs):\n"
        "    raise RuntimeError('boom')\n"
        "check.compile_rule = boom\n"
        "raise SystemExit(cli.main(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script), "check", PREMIUM, "--balances", "{}"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "TCA_GATE_DEBUG"},
    )
    assert (done.returncode, done.stdout, done.stderr) == (70, "", INTERNAL_ERROR)


@pytest.mark.parametrize("command", [[], ["check"], ["explain"], ["lint"], ["fmt"], ["test"]])
def test_help_documents_exit_status_70(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    status = " ".join(out.split("exit status:", 1)[1].split())
    assert "70 internal error" in status
    assert "130 interrupted (Ctrl-C)" in status
    assert "141 stdout closed before the output was all written" in status


def test_the_module_documents_every_exit_status() -> None:
    assert cli.__doc__ is not None
    statuses = " ".join(cli.__doc__.split("Exit codes:", 1)[1].split("\n\n", 1)[0].split())
    for status in ("0 allowed", "1 denied", "2 a usage error", "3 a rule", "4 a test case"):
        assert status in statuses
    for status in ("70 an internal error", "130 interrupted (Ctrl-C)", "141 stdout was closed"):
        assert status in statuses


# ---------------------------------------------------------------- files tomllib cannot read


@pytest.fixture
def int_digit_limit() -> Iterator[int]:
    """Python's default limit on int-from-string conversion, whatever the environment set."""
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(4300)
    yield 4300
    sys.set_int_max_str_digits(before)


_CASE_HEAD = 'name = "c"\nrule = "LTBCOIN >= 1"\nexpect = "allow"\n'


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        pytest.param(
            ("[[case]]\n" + _CASE_HEAD + "balances = { LTBCOIN = " + "9" * 5000 + " }\n").encode(),
            ", line 5: a number has 5000 digits, more than Python reads (4300)",
            id="a-5000-digit-balance",
        ),
        pytest.param(
            (
                "[[case]]\n" + _CASE_HEAD + "balances = { LTBCOIN = 1_" + "0" * 4400 + " }\n"
            ).encode(),
            ", line 5: a number has 4401 digits",
            id="a-long-balance-with-an-underscore",
        ),
        pytest.param(
            b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n",
            ": arrays or tables are nested too deeply to read",
            id="deeply-nested-arrays",
        ),
        pytest.param(
            b"x = " + b"{a = " * 5000 + b"1" + b"}" * 5000 + b"\n",
            ": arrays or tables are nested too deeply to read",
            id="deeply-nested-inline-tables",
        ),
        pytest.param(
            ("[[case]]\n" + _CASE_HEAD + "balances = {}\n").encode() + b"# caf\xe9\n",
            ", line 6: not UTF-8 text (byte 0xe9); TOML files are UTF-8",
            id="latin-1",
        ),
        pytest.param(b"\xff\xfe[\x00", ", line 1: not UTF-8 text (byte 0xff)", id="utf-16"),
        pytest.param(b"x = [1,\n", " is not valid TOML: ", id="invalid-toml"),
    ],
)
@pytest.mark.usefixtures("int_digit_limit")
def test_a_file_tomllib_cannot_read_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    data: bytes,
    problem: str,
) -> None:
    path = tmp_path / "cases.toml"
    path.write_bytes(data)
    code, out, err = run(capsys, "test", str(path))
    assert (code, out) == (2, "")
    assert err.startswith(f"tca-gate test: error: {path}{problem}")
    assert err.count("\n") == 1
    assert len(err) < 300


@pytest.mark.usefixtures("int_digit_limit")
def test_a_toml_integer_too_long_to_print_is_refused_by_size(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Hexadecimal escapes the int-from-string limit, but str() of the integer does not.
    huge = "0x" + "f" * 5000
    path = write(tmp_path, f"sat = true\n[[case]]\n{_CASE_HEAD}balances = {{ LTBCOIN = {huge} }}\n")
    code, _, err = run(capsys, "test", path)
    assert code == 2
    assert "the balance of LTBCOIN is an integer of more than 60 digits, more than any" in err
    path = write(tmp_path, f"sat = {huge}\n[[case]]\n{_CASE_HEAD}balances = {{}}\n")
    code, _, err = run(capsys, "test", path)
    assert code == 2
    assert "sat: must be true or false, not an integer of more than 60 digits" in err


# ---------------------------------------------------------------- balances json cannot hold


@pytest.mark.parametrize(
    ("balances", "flags", "problem"),
    [
        pytest.param(
            "[" * 100_000 + "]" * 100_000,
            [],
            "nests arrays or objects too deeply to read",
            id="deep-arrays",
        ),
        pytest.param(
            '{"a": ' * 100_000 + "1" + "}" * 100_000,
            [],
            "nests arrays or objects too deeply to read",
            id="deep-objects",
        ),
        pytest.param(
            '{"LTBCOIN": ' + "9" * 5000 + "}",
            [],
            "the balance of LTBCOIN is an integer of 5000 digits, more than any asset's supply",
            id="a-5000-digit-balance",
        ),
        pytest.param(
            '{"LTBCOIN": -' + "9" * 5000 + "}",
            ["--sat"],
            "the balance of LTBCOIN is an integer of 5000 digits, more than any asset's supply",
            id="a-5000-digit-balance-in-base-units",
        ),
        pytest.param(
            '{"LTBCOIN": "' + "9" * 5000 + '"}',
            ["--sat"],
            "the balance of LTBCOIN is a string of an integer of 5000 digits, more than any",
            id="a-5000-digit-string-in-base-units",
        ),
        pytest.param(
            "9" * 5000,
            [],
            "must be a JSON object of asset to amount, e.g. "
            '{"LTBCOIN": "0.5"}, not an integer of 5000 digits',
            id="a-5000-digit-document",
        ),
    ],
)
@pytest.mark.usefixtures("int_digit_limit")
def test_balances_json_cannot_hold_exit_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    balances: str,
    flags: list[str],
    problem: str,
) -> None:
    path = tmp_path / "balances.json"
    path.write_text(balances, encoding="utf-8")
    for argument, where in ((balances, "--balances "), (f"@{path}", f"{path} ")):
        code, out, err = run(capsys, "check", "LTBCOIN >= 1", "--balances", argument, *flags)
        assert (code, out) == (2, "")
        expected_start = "the balance of" if "balance of" in problem else where
        assert err.startswith(f"tca-gate check: error: {expected_start}")
        assert problem in err
        assert len(err) < 300


@pytest.mark.usefixtures("int_digit_limit")
def test_leading_zeros_do_not_count_against_the_digit_limit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    balances = '{"LTBCOIN": "' + "0" * 5000 + '1"}'
    code, out, _ = run(capsys, "check", "LTBCOIN >= 0.00000001", "--balances", balances, "--sat")
    assert (code, out) == (0, "allowed\n")


def test_balances_on_stdin_that_are_not_utf8_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"\xff": 1}'), "utf-8"))
    code, out, err = run(capsys, "check", PREMIUM, "--balances", "@-")
    assert (code, out) == (2, "")
    assert err.startswith("tca-gate check: error: cannot read balances from stdin: 'utf-8' codec")


# ---------------------------------------------------------------- inf and nan


@pytest.mark.parametrize("written", ["inf", "+inf", "-inf", "nan", "+nan", "-nan"])
def test_a_toml_inf_or_nan_is_not_an_amount(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, written: str
) -> None:
    path = write(tmp_path, f"[[case]]\n{_CASE_HEAD}balances = {{ LTBCOIN = {written} }}\n")
    code, out, err = run(capsys, "test", path)
    assert (code, out) == (2, "")
    assert (
        f"case 1 ('c'), balances: the balance of LTBCOIN is {written}, which is not an amount: "
        'a balance is a finite number, such as 10 or "0.5"'
    ) in err
    assert "quote it" not in err


def test_quoting_inf_would_not_have_helped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, f'[[case]]\n{_CASE_HEAD}balances = {{ LTBCOIN = "inf" }}\n')
    assert run(capsys, "test", path)[0] == 2


def test_the_quote_it_advice_is_valid_toml_for_any_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, f'[[case]]\n{_CASE_HEAD}balances = {{ "ltbcoin.Gold" = 0.5 }}\n')
    code, _, err = run(capsys, "test", path)
    assert code == 2
    assert 'quote it, "ltbcoin.Gold" = "0.5"' in err


# ---------------------------------------------------------------- asset names


@pytest.mark.parametrize(
    ("key", "asset"),
    [
        ("ltbcoin", "LTBCOIN"),
        ("xcp", "XCP"),
        ("a12345", "A12345"),
        ("ltbcoin.Gold", "LTBCOIN.Gold"),
        ("a12345.sub-Asset_1", "A12345.sub-Asset_1"),
        # Not Counterparty asset names, but assets the tokenpass dialect reads:
        ("foo", "FOO"),
        ("stackop_1", "STACKOP_1"),
        ("ltbcoin_gold", "LTBCOIN_GOLD"),
        ("ltbcoin.", "LTBCOIN."),
        ("straße.ß", "STRAßE.ß"),  # ASCII letters only, as PHP's strtoupper
    ],
)
def test_canonical_asset(key: str, asset: str) -> None:
    assert _balances.canonical_asset(key) == asset
    assert _strict.strict_asset(key) in (asset, None)


def test_asset_names_are_read_by_the_packages_own_functions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not hasattr(_balances, "_ASCII_UPPER")
    strict: list[str] = []
    upper: list[str] = []

    def strict_asset(name: str) -> str | None:
        strict.append(name)
        return _strict.strict_asset(name)

    def ascii_upper(text: str) -> str:
        upper.append(text)
        return _stack.ascii_upper(text)

    monkeypatch.setattr(_balances, "strict_asset", strict_asset)
    monkeypatch.setattr(_balances, "ascii_upper", ascii_upper)
    balances = '{"ltbcoin.Gold": 1, "foo": 1}'
    assert run(capsys, "check", "LTBCOIN.Gold >= 1", "--balances", balances)[0] == 0
    assert strict == ["ltbcoin.Gold", "foo"]
    assert upper == ["foo"]


def test_tokenpass_assets_that_are_not_asset_names_can_be_given_balances(
    capsys: pytest.CaptureFixture[str],
) -> None:
    balances = '{"foo": 1, "ltbcoin_gold": 2}'
    rule = "foo=1&ltbcoin.gold=2"  # PHP reads ltbcoin.gold as LTBCOIN_GOLD
    assert run(capsys, "check", rule, "--dialect", "tokenpass", "--balances", balances)[0] == 0


# ---------------------------------------------------------------- echoed input stays short


BIG = "Q" * 1_000_000  # a megabyte of key, name or value


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        pytest.param(
            ["--balances", json.dumps({BIG: True})], "the balance of QQQ", id="key-bad-amount"
        ),
        pytest.param(
            ["--balances", json.dumps({BIG: 1, BIG.lower(): 1})], "both name the asset", id="dup"
        ),
        pytest.param(
            ["--balances", f'{{"{BIG}": 1, "{BIG}": 2}}'], "appears twice", id="json-duplicate"
        ),
        pytest.param(
            ["--balances", json.dumps({"LTBCOIN": BIG}), "--sat"],
            "not a whole number of base units",
            id="string-amount",
        ),
        pytest.param(
            ["--balances", '{"LTBCOIN": ' + "1" * 1_000_000 + ".5}"],
            "more than any asset's supply",
            id="decimal-amount",
        ),
        pytest.param(["--balances", json.dumps(BIG)], "not the string 'QQQ", id="document"),
        pytest.param(
            ["--balances", "@/" + "d/" * 50_000 + "balances.json"],
            "cannot read balances from /d/d/",
            id="path",
        ),
    ],
)
def test_check_messages_cut_echoed_input_short(
    capsys: pytest.CaptureFixture[str], argv: list[str], problem: str
) -> None:
    code, out, err = run(capsys, "check", "LTBCOIN >= 1", *argv)
    assert (code, out) == (2, "")
    assert problem in err
    assert "…" in err
    assert "Q" * 61 not in err
    assert len(err) < 400


def test_typo_warnings_cut_names_short(capsys: pytest.CaptureFixture[str]) -> None:
    asset, typo = "Q" * 200, "Q" * 199 + "X"
    rule = f"{asset}=1"
    code, _, err = run(
        capsys, "check", rule, "--dialect", "tokenpass", "--balances", json.dumps({typo: 1})
    )
    assert code == 1
    cut = "Q" * 59 + "…"
    assert err == (
        f"tca-gate: warning: the balances hold {cut}, which the rule does not read "
        f"(it reads {cut}: a typo in one of them?)\n"
    )


_GOOD_CASE = 'rule = "LTBCOIN >= 1"\nbalances = {}\nexpect = "deny"\n'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(f"{BIG} = 1\n", "QQQ…: unknown key", id="unknown-key"),
        pytest.param(f'[[case]]\nname = "{BIG}"\n', "case 1 ('QQQ", id="case-name"),
        pytest.param(
            f'[[case]]\nname = "{BIG}"\n{_GOOD_CASE}[[case]]\nname = "{BIG}"\n{_GOOD_CASE}',
            "is already the name of case 1",
            id="duplicate-case-name",
        ),
        pytest.param(
            "[rules]\n"
            + "".join(f'{BIG[:1000]}{n} = "LTBCOIN >= 1"\n' for n in range(500))
            + f'[[case]]\nname = "c"\nuses = "{BIG}"\nbalances = {{}}\nexpect = "deny"\n',
            "and 495 more)",
            id="uses-and-known-rules",
        ),
        pytest.param(f"[rules]\n{BIG} = 1\n", "rules.QQQ", id="rule-name"),
        pytest.param(
            f'[[case]]\nname = "c"\nrule = "LTBCOIN >= 1"\nbalances = {{}}\nexpect = "{BIG}"\n',
            "not the string 'QQQ",
            id="expect-value",
        ),
        pytest.param(
            f'[[case]]\nname = "c"\nrule = "LTBCOIN >= 1"\nbalances = {{ {BIG} = true }}\n',
            "the balance of QQQ",
            id="balance-key",
        ),
        pytest.param(
            '[[case]]\nname = "c"\nrule = "LTBCOIN >= 1"\n'
            f"balances = {{ LTBCOIN = 1.{'1' * 1_000_000} }}\n",
            "is the TOML float 1.111",
            id="toml-float",
        ),
        pytest.param(
            f'[rules]\n{BIG} = "LTBCOIN >>= 1"\n[[case]]\nname = "{BIG}"\nuses = "{BIG}"\n'
            'balances = {}\nexpect = "deny"\n',
            "does not compile",
            id="rule-that-does-not-compile",
        ),
    ],
)
def test_test_file_messages_cut_echoed_input_short(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, problem: str
) -> None:
    code, out, err = run(capsys, "test", write(tmp_path, text))
    assert code in (2, 3)
    assert out == ""
    assert problem in err
    assert "…" in err
    assert "Q" * 61 not in err
    assert len(err) < 600


def test_a_long_file_name_keeps_its_start_and_end(capsys: pytest.CaptureFixture[str]) -> None:
    path = "/no/such/" + "d" * 1_000_000 + "/cases.toml"
    code, _, err = run(capsys, "test", path)
    assert code == 2
    shown = _echo.clip_path(path)
    assert err == f"tca-gate test: error: cannot read {shown}: File name too long\n"
    assert shown.startswith("/no/such/ddd")
    assert shown.endswith("ddd/cases.toml")
    assert len(shown) == _echo.PATH_ECHO_LIMIT


@pytest.mark.parametrize(
    ("key", "shown"),
    [("Q" * 60, "Q" * 60), ("Q" * 61, "Q" * 59 + "…"), (BIG, "Q" * 59 + "…")],
)
def test_echoed_values_are_cut_at_60_characters(
    capsys: pytest.CaptureFixture[str], key: str, shown: str
) -> None:
    code, _, err = run(capsys, "check", "LTBCOIN >= 1", "--balances", json.dumps({key: None}))
    assert code == 2
    assert err == f"tca-gate check: error: the balance of {shown} must be a number or a " + (
        "decimal string, not null\n"
    )


def test_the_cli_uses_the_packages_own_shorten_and_digit_limit() -> None:
    assert not hasattr(_echo, "clip")
    assert not hasattr(_balances, "MAX_WHOLE_DIGITS")
    assert vars(_echo)["shorten"] is errors.shorten
    assert vars(_balances)["MAX_DIGITS"] is _amounts.MAX_DIGITS


# ---------------------------------------------------------------- second review


@pytest.mark.parametrize("zero", ["0E+999999999", "0e-999999999", "-0.0"])
def test_zero_written_any_way_is_a_balance(capsys: pytest.CaptureFixture[str], zero: str) -> None:
    code, out, _ = run(capsys, "check", "LTBCOIN >= 0", "--balances", f'{{"LTBCOIN": {zero}}}')
    assert (code, out) == (0, "allowed\n")


_LARGEST = "9" * 40 + ".99999999"  # 40 digits before the point: tca_gate.rules._amounts.MAX_DIGITS


@pytest.mark.parametrize(
    ("amount", "flags"),
    [
        pytest.param(_LARGEST, [], id="tokens"),
        pytest.param(f'"{_LARGEST}"', [], id="token-string"),
        pytest.param(f"-{_LARGEST}", [], id="negative-tokens"),
        pytest.param("1e39", [], id="exponent"),
        pytest.param("9" * 48, ["--sat"], id="base-units"),
        pytest.param(f'"-{"9" * 48}"', ["--sat"], id="base-unit-string"),
    ],
)
def test_balances_up_to_the_packages_digit_limit_are_accepted(
    capsys: pytest.CaptureFixture[str], amount: str, flags: list[str]
) -> None:
    balances = f'{{"LTBCOIN": {amount}}}'
    code, _, err = run(capsys, "check", "LTBCOIN >= 1", "--balances", balances, *flags)
    assert (code, err) == (0 if "-" not in amount else 1, "")


@pytest.mark.parametrize(
    ("amount", "flags"),
    [
        pytest.param("1e40", [], id="exponent"),
        pytest.param("1" + "0" * 40, [], id="integer"),
        pytest.param("-1" + "0" * 40, [], id="negative-integer"),
        pytest.param("1" + "0" * 40 + ".5", [], id="decimal"),
        pytest.param("1" + "0" * 48, ["--sat"], id="base-units"),
        pytest.param(f'"-1{"0" * 48}"', ["--sat"], id="base-unit-string"),
    ],
)
def test_balances_past_the_packages_digit_limit_are_refused_in_the_same_words(
    capsys: pytest.CaptureFixture[str], amount: str, flags: list[str]
) -> None:
    balances = f'{{"LTBCOIN": {amount}}}'
    code, out, err = run(capsys, "check", "LTBCOIN >= 1", "--balances", balances, *flags)
    assert (code, out) == (2, "")
    assert err.startswith("tca-gate check: error: the balance of LTBCOIN is ")
    assert err.endswith(", more than any asset's supply (a balance must be under 10^40 tokens)\n")


def test_a_dotted_toml_key_gets_a_hint_to_quote_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        """
        [[case]]
        name = "subasset"
        rule = "PEPE.x >= 1"
        balances = { PEPE.x = 1 }
        expect = "allow"
        """,
    )
    code, _, err = run(capsys, "test", path)
    assert code == 2
    assert '"PEPE.x" = 1' in err


def test_a_toml_float_under_sat_is_refused_without_advice_to_quote_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        """
        sat = true
        [[case]]
        name = "float"
        rule = "LTBCOIN >= 1"
        balances = { LTBCOIN = 1.5 }
        expect = "deny"
        """,
    )
    code, _, err = run(capsys, "test", path)
    assert code == 2
    assert "base units are whole numbers" in err
    assert "quote it" not in err


# ---------------------------------------------------------------- third review


def test_a_json_object_as_an_amount_is_called_an_object_without_toml_advice(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", stdin_of('{"LTBCOIN": {"balance": 10}}'))
    code, out, err = run(capsys, "check", "LTBCOIN >= 10", "--balances", "@-")
    assert (code, out) == (2, "")
    assert err == (
        "tca-gate check: error: the balance of LTBCOIN must be a number or a decimal "
        "string, not an object\n"
    )


def test_a_toml_table_as_an_amount_keeps_the_advice_to_quote_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, f"[[case]]\n{_CASE_HEAD}balances = {{ PEPE.x = 1 }}\n")
    code, _, err = run(capsys, "test", path)
    assert code == 2
    assert (
        "balances: the balance of PEPE must be a number or a decimal string, not a table "
        '(to name a subasset in TOML, quote it: "PEPE.x" = 1)'
    ) in err


@pytest.mark.parametrize(
    ("source", "kind", "flag"), [("json", "an object", "--sat"), ("toml", "a table", "sat = true")]
)
def test_the_balances_source_is_given_not_guessed(
    source: _balances.BalancesSource, kind: str, flag: str
) -> None:
    with pytest.raises(_balances.BalancesError, match=f"not {kind}"):
        _balances.balances_from_mapping({"LTBCOIN": {"x": 1}}, sat=False, source=source)
    with pytest.raises(_balances.BalancesError, match=f"drop {flag} to give tokens"):
        _balances.balances_from_mapping({"LTBCOIN": "0.5"}, sat=True, source=source)


@pytest.mark.parametrize(
    ("argv", "usage", "problem"),
    [
        (
            ["check", "LTBCOIN >= 10", "--balances", "{}", "--explian"],
            "usage: tca-gate check ",
            "tca-gate check: error: unrecognized argument: --explian; did you mean --explain?",
        ),
        (
            ["explain", "LTBCOIN >= 10", "--balances", "{}", "--jsno"],
            "usage: tca-gate explain ",
            "tca-gate explain: error: unrecognized argument: --jsno; did you mean --json?",
        ),
        (
            ["lint", "LTBCOIN >= 10", "--fail-on-warnings"],
            "usage: tca-gate lint ",
            "tca-gate lint: error: unrecognized argument: --fail-on-warnings; "
            "did you mean --fail-on-warning?",
        ),
        (
            ["fmt", "LTBCOIN >= 10", "--to", "expr", "--dialetc=strict"],
            "usage: tca-gate fmt ",
            "tca-gate fmt: error: unrecognized argument: --dialetc=strict; did you mean --dialect?",
        ),
        (
            ["test", "cases.toml", "--frobnicate"],
            "usage: tca-gate test ",
            "tca-gate test: error: unrecognized argument: --frobnicate\n",
        ),
        (
            ["check", "LTBCOIN", ">=", "10", "--balances", "{}"],  # the rule not quoted
            "usage: tca-gate check ",
            "tca-gate check: error: unrecognized arguments: >=, 10\n",
        ),
        (
            ["check", "LTBCOIN >= 10", "--balances", "{}", "--jsn", "--explian", "--sat"],
            "usage: tca-gate check ",
            "tca-gate check: error: unrecognized arguments: --jsn, --explian; "
            "did you mean --json for --jsn, --explain for --explian?",
        ),
    ],
)
def test_a_commands_unknown_arguments_are_reported_by_the_command(
    capsys: pytest.CaptureFixture[str], argv: list[str], usage: str, problem: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith(usage)
    assert "usage: tca-gate [-h]" not in err
    assert problem in err


def test_an_unknown_option_before_the_command_is_the_top_levels(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "--bogus", "lint", "LTBCOIN >= 1")
    assert code == 2
    assert err.startswith("usage: tca-gate [-h]")
    assert "tca-gate: error: unrecognized arguments: --bogus" in err


def test_unknown_arguments_are_cut_short(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "lint", "LTBCOIN >= 1", *[f"--{BIG}{n}" for n in range(10)])
    assert code == 2
    assert "unrecognized arguments: --QQQ" in err
    assert "and 5 more" in err
    assert "Q" * 60 not in err
    assert len(err) < 800


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "LTBCOIN >= 1", "--balance", '{"LTBCOIN": 1}'],
        ["check", "LTBCOIN >= 1", "--balances", '{"LTBCOIN": 1}', "--jso"],
        ["check", "LTBCOIN >= 1", "--balances", '{"LTBCOIN": 1}', "--exp"],
        ["explain", "LTBCOIN >= 1", "--bal", '{"LTBCOIN": 1}'],
        ["lint", "LTBCOIN >= 1", "--fail"],
        ["fmt", "LTBCOIN >= 1", "--to", "expr", "--dia", "strict"],
        ["test", fixture("passing.toml"), "--js"],
        ["--vers"],
    ],
)
def test_abbreviated_options_are_refused(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert "usage: tca-gate" in err


def test_the_examples_in_test_help_name_files_that_exist(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = run(capsys, "test", "--help")
    examples = out.split("examples:\n", 1)[1].split("\n\n", 1)[0]
    files = re.findall(r"tca-gate test (\S+)", examples)
    assert files == ["examples/rules.toml", "examples/rules.toml"]
    root = ROOT
    for name in files:
        assert run(capsys, "test", str(root / name))[0] == 0


# Closed stdout and Ctrl-C: run as processes, since both concern the interpreter's exit.


def _run_into_a_closed_pipe(argv: list[str], *, unbuffered: bool) -> tuple[int, bytes]:
    """Run tca-gate with stdout a pipe nobody reads: its reading end is already closed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tca_gate", *argv],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
    finally:
        os.close(write_end)
    return done.returncode, done.stderr


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["check", PREMIUM, "--balances", '{"LTBSTAFF": 1}'], id="check-allowed"),
        pytest.param(["check", PREMIUM, "--balances", "{}", "--explain"], id="check-denied"),
        pytest.param(["explain", PREMIUM, "--balances", "{}", "--json"], id="explain"),
        pytest.param(["lint", "LTBCOIN=0", "--fail-on-warning"], id="lint"),
        pytest.param(["fmt", PREMIUM, "--to", "expr"], id="fmt"),
        pytest.param(["test", fixture("passing.toml")], id="test"),
        pytest.param(["test", fixture("failing.toml")], id="test-failing"),
        pytest.param(["--help"], id="help"),
        pytest.param(["check", "--help"], id="command-help"),
        pytest.param(["--version"], id="version"),
    ],
)
def test_a_closed_stdout_exits_141_whatever_the_command(argv: list[str], unbuffered: bool) -> None:
    assert _run_into_a_closed_pipe(argv, unbuffered=unbuffered) == (141, b"")


def test_a_closed_stdout_does_not_hide_a_usage_error() -> None:
    code, err = _run_into_a_closed_pipe(["check", PREMIUM], unbuffered=False)
    assert code == 2  # nothing was written to stdout
    assert b"the following arguments are required: --balances" in err


@pytest.mark.parametrize(
    ("argv", "closed", "code"),
    [
        pytest.param(["check", PREMIUM, "--balances", "{}"], ">&-", 1, id="no-stdout"),
        pytest.param(["--help"], ">&-", 0, id="help-without-stdout"),
        pytest.param(["check", PREMIUM], "2>&-", 2, id="usage-error-without-stderr"),
    ],
)
def test_a_process_started_without_stdout_or_stderr_still_answers(
    argv: list[str], closed: str, code: int
) -> None:
    # Python sets sys.stdout (or sys.stderr) to None when its descriptor is not open.
    done = subprocess.run(
        ["/bin/sh", "-c", f'exec "$@" {closed}', "sh", sys.executable, "-m", "tca_gate", *argv],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == code, done.stderr
    assert b"tca-gate: internal error" not in done.stderr


def _interrupt(*args: object, **kwargs: object) -> object:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "argv",
    [
        ["check", PREMIUM, "--balances", "{}"],
        ["lint", PREMIUM],
        ["test", fixture("passing.toml")],
    ],
)
def test_ctrl_c_exits_130_without_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    for module in COMPILING:
        monkeypatch.setattr(module, "compile_rule", _interrupt)
    try:
        result = run(capsys, *argv)
    except KeyboardInterrupt:  # escaping, it would stop the test run itself
        pytest.fail("KeyboardInterrupt escaped main")
    assert result == (130, "", "")


def test_ctrl_c_while_reading_stdin_exits_130_as_a_process(tmp_path: Path) -> None:
    script = tmp_path / "interrupted.py"
    script.write_text(
        "import sys\n"
        "import tca_gate.cli as cli\n"
        "class Interrupted:\n"
        "    def read(self, size=-1):\n"
        "        raise KeyboardInterrupt\n"
        "class Stdin:\n"
        "    buffer = Interrupted()\n"
        "sys.stdin = Stdin()\n"
        "raise SystemExit(cli.main(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script), "check", PREMIUM, "--balances", "@-"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "")


# Empty input and byte order marks.


@pytest.mark.parametrize("text", ["", " \n\t\n", "\ufeff", "\ufeff\n"])
def test_empty_balances_on_stdin_say_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setattr(sys, "stdin", stdin_of(text))
    code, out, err = run(capsys, "check", PREMIUM, "--balances", "@-")
    assert (code, out) == (2, "")
    assert err == (
        "tca-gate check: error: stdin is empty: give a JSON object of asset to amount, "
        'e.g. {"LTBCOIN": "0.5"}, or {} for no balances\n'
    )
    assert "Expecting value" not in err


def test_empty_balances_inline_or_in_a_file_say_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "balances.json"
    path.write_bytes(b"")
    for argument, where in (("", "--balances"), (f"@{path}", str(path))):
        code, _, err = run(capsys, "check", PREMIUM, "--balances", argument)
        assert code == 2
        assert err.startswith(f"tca-gate check: error: {where} is empty: give a JSON object")


_BOM = "\ufeff".encode()


def test_a_byte_order_mark_before_balances_json_is_ignored(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "balances.json"
    path.write_bytes(_BOM + b'{"LTBSTAFF": 1}')
    assert run(capsys, "check", PREMIUM, "--balances", f"@{path}") == (0, "allowed\n", "")
    stdin = io.TextIOWrapper(io.BytesIO(_BOM + b'{"LTBSTAFF": 1}'), "utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert run(capsys, "check", PREMIUM, "--balances", "@-") == (0, "allowed\n", "")
    assert run(capsys, "check", PREMIUM, "--balances", '\ufeff{"LTBSTAFF": 1}')[0] == 0


def test_only_a_leading_byte_order_mark_is_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", PREMIUM, "--balances", '{"LTBSTAFF": 1}\ufeff')
    assert code == 2
    assert "is not valid JSON" in err


def test_a_byte_order_mark_before_a_test_file_is_ignored(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "cases.toml"
    path.write_bytes(_BOM + (FIXTURES / "passing.toml").read_bytes())
    code, out, err = run(capsys, "test", str(path))
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "6 passed, 0 failed"


# Input size: a file or stdin is read up to a limit, never without end (issue 11, defect 8).


def _one_gib_of_memory() -> None:
    """In the child: fail on allocating past 1 GiB, not take the machine's memory."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.mark.parametrize(
    ("argv", "stdin", "named"),
    [
        pytest.param(
            ["check", PREMIUM, "--balances", "@/dev/zero"], None, "--balances @/dev/zero", id="file"
        ),
        pytest.param(["explain", PREMIUM, "--balances", "@-"], "/dev/zero", "--balances @-",
                     id="stdin"),
        pytest.param(["test", "/dev/zero"], None, "the test file /dev/zero", id="test-file"),
        pytest.param(["sandbox", "--seed", "/dev/zero", "--port", "0"], None, "--seed /dev/zero",
                     id="seed"),
    ],
)  # fmt: skip
def test_endless_input_exits_2_naming_the_option_and_the_limit(
    argv: list[str], stdin: str | None, named: str
) -> None:
    with open(stdin or os.devnull, "rb") as given:
        done = subprocess.run(
            [sys.executable, "-m", "tca_gate", *argv],
            stdin=given,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_one_gib_of_memory,
            check=False,
        )
    assert (done.returncode, done.stdout) == (2, ""), done.stderr[-300:]
    assert done.stderr == (
        f"tca-gate {argv[0]}: error: {named} is more than 4 MiB (4194304 bytes), "
        "the most tca-gate reads from a file or stdin\n"
    )


def test_input_up_to_the_limit_is_read(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    balances = tmp_path / "balances.json"
    document = b'{"LTBSTAFF": 1}'
    balances.write_bytes(document + b" " * (4 * 1024 * 1024 - len(document)))
    assert run(capsys, "check", PREMIUM, "--balances", f"@{balances}")[:2] == (0, "allowed\n")
    with balances.open("ab") as more:
        more.write(b" ")
    code, out, err = run(capsys, "check", PREMIUM, "--balances", f"@{balances}")
    assert (code, out) == (2, "")
    assert "is more than 4 MiB" in err


def test_an_unreadable_seed_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "sandbox", "--seed", "/no/such/seed.toml")
    assert (code, out) == (2, "")
    assert err == (
        "tca-gate sandbox: error: cannot read seed file /no/such/seed.toml: "
        "No such file or directory\n"
    )
