"""``tca-gate lint`` and ``tca-gate fmt``: warnings with their caret, canonical text."""

from __future__ import annotations

import json

import pytest

from tca_gate import compile_rule
from tests.support.cli import PREMIUM, run

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
