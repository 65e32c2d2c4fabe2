"""``tca-gate check`` and ``explain``: balances in, a decision out, as text, JSON or colour."""

from __future__ import annotations

import json
import sys

import pytest

from tca_gate import compile_rule
from tests.support.cli import PREMIUM, fixture, run, stdin_of


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


# ---------------------------------------------------------------- colour


ESC = "\x1b["


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
