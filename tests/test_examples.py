"""The demo and the example rule set run, and say what they should."""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "cli_demo.py"
STATUSES = [0, 1, 1, 0, 0, 1, 3, 0]


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_demo", DEMO)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_demo(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEMO)],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_cli_demo_walks_through_every_step(tmp_path: Path) -> None:
    result = run_demo(tmp_path)  # from anywhere: the steps run at the repository's root
    assert (result.returncode, result.stderr) == (0, ""), result.stdout
    statuses = [int(code) for code in re.findall(r"\[exit (\d+)\]", result.stdout)]
    assert statuses == STATUSES
    assert [step.expect for step in load_demo().STEPS] == STATUSES
    assert "Needs 1,200 more LTBCOIN, or 1 LTBSTAFF." in result.stdout
    assert "Tokenpass reads stackOp_1 as an asset named STACKOP_1" in result.stdout
    assert "8 passed, 0 failed" in result.stdout


def test_the_demos_commands_work_when_pasted_at_the_repository_root() -> None:
    shown = run_demo(ROOT).stdout
    commands = re.findall(r"^   \$ tca-gate (.*)$", shown, flags=re.MULTILINE)
    assert len(commands) == len(STATUSES)
    assert "@examples/balances/alice.json" in commands[0]
    assert commands[-1] == "test examples/rules.toml"
    for command, status in zip(commands, STATUSES, strict=True):
        pasted = subprocess.run(
            [sys.executable, "-m", "tca_gate", *shlex.split(command)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert pasted.returncode == status, (command, pasted.stderr)


def test_the_demo_exits_1_naming_each_step_that_went_wrong(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = load_demo()
    # As if tca-gate were not installed: every step exits 1 ("No module named ...").
    monkeypatch.setattr(demo, "TCA_GATE", [sys.executable, "-m", "tca_gate_is_not_installed"])
    assert demo.main() == 1
    out, err = capsys.readouterr()
    assert "No module named tca_gate_is_not_installed" in out
    wrong = [n for n, status in enumerate(STATUSES, 1) if status != 1]
    assert [int(n) for n in re.findall(r"^cli_demo: step (\d+) exited 1, not", err, re.M)] == wrong
    assert "cli_demo: step 1 exited 1, not 0: tca-gate check 'LTBCOIN=10000&" in err
    assert "The web demo" not in out


def test_example_rule_set_passes() -> None:
    from tca_gate._cli import main

    assert main(["test", str(ROOT / "examples" / "rules.toml")]) == 0
