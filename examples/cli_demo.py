"""tca-gate's offline demo: the CLI deciding example rules against example balances.

Run it with ``.venv/bin/python examples/cli_demo.py`` (``scripts/bootstrap`` sets up .venv).
Each step prints the command, as you would type it at the repository's root (where
it runs), what tca-gate answered, and its exit status. A step whose status is not
the one expected (the package not installed, say) makes the demo exit 1, naming it.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
#: How each step runs tca-gate; the printed command says ``tca-gate``.
TCA_GATE = [sys.executable, "-m", "tca_gate"]
PREMIUM = "LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR"
LEGACY = "LTBCOIN=10000&stackOp_1=OR&LTBSTAFF=1"


class Step(NamedTuple):
    """One command of the demo: what it shows, its arguments, and its exit status."""

    story: str
    arguments: list[str]
    expect: int  # 0 allowed or clean, 1 denied, 3 a rule error


STEPS: list[Step] = [
    Step(
        "A Tokenpass rule stack: 10,000 LTBCOIN, or one LTBSTAFF. Alice holds 12,500 LTBCOIN.",
        ["check", PREMIUM, "--balances", "@examples/balances/alice.json", "--explain"],
        0,
    ),
    Step(
        "Bob holds 8,800 LTBCOIN: refused, with what he lacks.",
        ["check", PREMIUM, "--balances", "@examples/balances/bob.json", "--explain"],
        1,
    ),
    Step(
        "Carol holds nothing.",
        ["check", PREMIUM, "--balances", "@examples/balances/carol.json"],
        1,
    ),
    Step(
        "The same rule, written for people, and back to the stack Tokenpass reads.",
        ["fmt", "(TOKENLY > 0 and LTBCOIN >= 100) or LTBSTAFF >= 1", "--to", "query"],
        0,
    ),
    Step(
        "The API document spells it stackOp_1; the deployed server read that as an asset.",
        ["lint", LEGACY],
        0,
    ),
    Step(
        "So in the bit-exact tokenpass dialect a staff member is refused...",
        ["check", LEGACY, "--dialect", "tokenpass", "--balances", '{"LTBSTAFF": 1}'],
        1,
    ),
    Step(
        "...and strict (the default) refuses what the server would have misread, and says where.",
        ["check", "LTBCOIN=10000&stackop_1=OR", "--balances", "{}"],
        3,
    ),
    Step(
        "A rule set checked in CI: every case in examples/rules.toml.",
        ["test", "examples/rules.toml"],
        0,
    ),
]


def main() -> int:
    unexpected: list[str] = []
    for number, step in enumerate(STEPS, 1):
        command = "tca-gate " + shlex.join(step.arguments)
        print(f"\n{number}. {step.story}")
        print(f"   $ {command}")
        result = subprocess.run(
            [*TCA_GATE, *step.arguments],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        for line in (result.stdout + result.stderr).rstrip().splitlines():
            print("   " + line)
        print(f"   [exit {result.returncode}]")
        if result.returncode != step.expect:
            unexpected.append(
                f"step {number} exited {result.returncode}, not {step.expect}: {command}"
            )
    if unexpected:
        for problem in unexpected:
            print(f"cli_demo: {problem}", file=sys.stderr)
        print(
            "cli_demo: the demo did not go as it should (is tca-gate installed? "
            "scripts/bootstrap sets it up)",
            file=sys.stderr,
        )
        return 1
    print("\nThe web demo (log in with Tokenpass, be refused, receive a promise, get in):")
    print("./scripts/demo")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
