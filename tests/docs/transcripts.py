"""Console transcripts in Markdown: each ``$ command`` line of a ``console`` block, with
the exit status a trailing ``# exits N`` gives (else 0) and the output below it, run
at the repository's root as a reader would paste it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```(\w+)(?: [^\n]*)?\n(.*?)^```$", re.MULTILINE | re.DOTALL)
EXITS = re.compile(r"\s+# exits (\d+)$")


def console_examples(text: str) -> list[tuple[str, int, str]]:
    """(command, expected exit status, expected output) for every ``$`` line of ``text``."""
    examples: list[tuple[str, int, str]] = []
    for language, body in BLOCK.findall(text):
        if language != "console":
            continue
        for chunk in re.split(r"^\$ ", body, flags=re.MULTILINE)[1:]:
            command, _, output = chunk.partition("\n")
            status = EXITS.search(command)
            examples.append((EXITS.sub("", command), int(status[1]) if status else 0, output))
    return examples


def run(command: str) -> tuple[int, str]:
    """The exit status and the output (stdout, then stderr) of ``command`` under bash,
    with this Python's ``tca-gate`` first on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path}
    env.pop("NO_COLOR", None)
    result = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    return result.returncode, result.stdout + result.stderr
