"""How the command line ends: as a process, on an internal error (70), a closed stdout (141)
and Ctrl-C (130)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tca_gate import cli
from tca_gate.cli import _check, _lint_fmt, _testrun
from tests.support.cli import PREMIUM, fixture, run, write

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


#: The modules whose commands compile a rule, each with its own ``compile_rule``.
COMPILING = (_check, _lint_fmt, _testrun)


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
