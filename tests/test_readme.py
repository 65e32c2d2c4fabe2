"""The README's examples run: its Python blocks as doctests, its console blocks as commands."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
EXITS = re.compile(r"\s+# exits (\d+)$")


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README) if lang == language]


def console_examples() -> list[tuple[str, int, str]]:
    """(command, expected exit status, expected output) for every ``$`` line."""
    examples: list[tuple[str, int, str]] = []
    for body in blocks("console"):
        for chunk in re.split(r"^\$ ", body, flags=re.MULTILINE)[1:]:
            command, _, output = chunk.partition("\n")
            status = EXITS.search(command)
            examples.append((EXITS.sub("", command), int(status.group(1)) if status else 0, output))
    return examples


def test_python_examples() -> None:
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    namespace: dict[str, object] = {}
    examples = 0
    for match in BLOCK.finditer(README):
        if match.group(1) != "python":
            continue
        line = README.count("\n", 0, match.start(2))
        test = parser.get_doctest(match.group(2), namespace, "README.md", "README.md", line)
        examples += len(test.examples)
        runner.run(test, clear_globs=False)
        namespace.update(test.globs)  # each block sees what the ones above it defined
    assert examples > 20
    assert runner.failures == 0, f"{runner.failures} README example(s) failed (see output above)"


@pytest.mark.parametrize(("command", "status", "output"), console_examples())
def test_console_examples(command: str, status: int, output: str) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("NO_COLOR", None)
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout + result.stderr == output
    assert result.returncode == status


def test_the_readme_starts_with_the_two_commands() -> None:
    first = blocks("sh")[0].splitlines()
    assert [line.split("#")[0].strip() for line in first] == ["./scripts/demo", "./scripts/test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.strip().splitlines()[-1] == "exec scripts/test"


def test_every_public_name_is_in_the_readme() -> None:
    import tca_gate

    missing = [n for n in tca_gate.__all__ if not re.search(rf"\b{re.escape(n)}\b", README)]
    assert missing == []
