"""Help, version and arguments: every command documented with examples; unknown or
abbreviated arguments refused by the command they follow."""

from __future__ import annotations

import re

import pytest

from tca_gate import __version__
from tests.support.cli import BIG, fixture, run
from tests.support.data import ROOT


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"tca-gate {__version__}\n", "")


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    listed = re.findall(r"^    (\w+) ", out, flags=re.MULTILINE)
    assert listed == ["check", "explain", "lint", "fmt", "test", "audit", "sandbox", "demo"]


@pytest.mark.parametrize(
    "command", ["check", "explain", "lint", "fmt", "test", "audit", "sandbox", "demo"]
)
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


# ---------------------------------------------------------------- unknown arguments


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
