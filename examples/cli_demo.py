"""tca-gate's offline demo: the CLI deciding example rules against example balances.

Run it with ``scripts/demo`` (which sets everything up) or ``python examples/cli_demo.py``.
Each step prints the command, as you would type it, and what tca-gate answered.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PREMIUM = "LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR"
LEGACY = "LTBCOIN=10000&stackOp_1=OR&LTBSTAFF=1"

STEPS: list[tuple[str, list[str]]] = [
    (
        "A Tokenpass rule stack: 10,000 LTBCOIN, or one LTBSTAFF. Alice holds 12,500 LTBCOIN.",
        ["check", PREMIUM, "--balances", "@balances/alice.json", "--explain"],
    ),
    (
        "Bob holds 8,800 LTBCOIN: refused, with what he lacks.",
        ["check", PREMIUM, "--balances", "@balances/bob.json", "--explain"],
    ),
    (
        "Carol holds nothing.",
        ["check", PREMIUM, "--balances", "@balances/carol.json"],
    ),
    (
        "The same rule, written for people, and back to the stack Tokenpass reads.",
        ["fmt", "(TOKENLY > 0 and LTBCOIN >= 100) or LTBSTAFF >= 1", "--to", "query"],
    ),
    (
        "The API document spells it stackOp_1; the deployed server read that as an asset.",
        ["lint", LEGACY],
    ),
    (
        "So in the bit-exact tokenpass dialect a staff member is refused...",
        ["check", LEGACY, "--dialect", "tokenpass", "--balances", '{"LTBSTAFF": 1}'],
    ),
    (
        "...and strict (the default) refuses what the server would have misread, and says where.",
        ["check", "LTBCOIN=10000&stackop_1=OR", "--balances", "{}"],
    ),
    (
        "A rule set checked in CI: every case in examples/rules.toml.",
        ["test", "rules.toml"],
    ),
]


def main() -> int:
    for number, (story, arguments) in enumerate(STEPS, 1):
        print(f"\n{number}. {story}")
        print("   $ tca-gate " + shlex.join(arguments))
        result = subprocess.run(
            [sys.executable, "-m", "tca_gate", *arguments],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=False,
        )
        for line in (result.stdout + result.stderr).rstrip().splitlines():
            print("   " + line)
        print(f"   [exit {result.returncode}]")
    print("\nThe web demo (log in with Tokenpass, be refused, receive a promise, get in) comes")
    print("with the gate; see README.md for the API and the CLI.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
