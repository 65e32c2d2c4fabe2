"""The demo and the example rule set run, and say what they should."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cli_demo_walks_through_every_step() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "cli_demo.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    statuses = [int(code) for code in re.findall(r"\[exit (\d+)\]", result.stdout)]
    assert statuses == [0, 1, 1, 0, 0, 1, 3, 0]
    assert "Needs 1,200 more LTBCOIN, or 1 LTBSTAFF." in result.stdout
    assert "Tokenpass reads stackOp_1 as an asset named STACKOP_1" in result.stdout
    assert "8 passed, 0 failed" in result.stdout


def test_example_rule_set_passes() -> None:
    from tca_gate._cli import main

    assert main(["test", str(ROOT / "examples" / "rules.toml")]) == 0
