"""The documentation site builds in strict mode and every example in it runs: each page's
Python blocks as doctests (in order, sharing one namespace), its console blocks as
commands, and the example files it includes (``docs/examples/``) through their own tests."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs import transcripts

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
EXAMPLES = sorted((DOCS / "examples").glob("*.py"))
BLOCK = re.compile(r"^```(\w+)(?: [^\n]*)?\n(.*?)^```$", re.MULTILINE | re.DOTALL)
PUBLIC_MODULES = (
    "gate",
    "balances",
    "login",
    "login.wallet",
    "fastapi",
    "tokenpass",
    "delivery",
    "tokensnet",
    "tdx",
    "tokensoft",
    "counterparty",
    "sandbox",
    "errors",
    "audit",
    "metrics",
)
INCLUDE = re.compile(r'--8<-- "(docs/examples/[\w]+\.py)"')


def blocks(page: Path, language: str) -> list[tuple[int, str]]:
    """(line, body) of each ``language`` block of ``page``."""
    text = page.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, found.start(2)), found.group(2))
        for found in BLOCK.finditer(text)
        if found.group(1) == language
    ]


def name(page: Path) -> str:
    return str(page.relative_to(DOCS))


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    site = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert "WARNING" not in built.stderr, built.stderr
    reference = (site / "reference" / "login" / "index.html").read_text(encoding="utf-8")
    assert "TokenpassLogin" in reference  # the API pages come from the docstrings
    recipe = (site / "getting-started" / "index.html").read_text(encoding="utf-8")
    assert "require_tokens" in recipe  # the included example is on the page


@pytest.mark.parametrize("page", [page for page in PAGES if blocks(page, "python")], ids=name)
def test_the_python_examples_of_a_page_run(page: Path) -> None:
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    namespace: dict[str, object] = {}
    for line, body in blocks(page, "python"):
        included = INCLUDE.fullmatch(body.strip())
        if included:
            assert (ROOT / included[1]).is_file(), included[1]
            continue
        assert ">>>" in body, (
            f"{name(page)}:{line}: a Python block is neither a doctest nor an include"
        )
        test = parser.get_doctest(body, namespace, name(page), str(page), line)
        runner.run(test, clear_globs=False)
        namespace.update(test.globs)  # each block sees what the ones above it defined
    assert runner.failures == 0, f"{runner.failures} example(s) of {name(page)} failed (see above)"


def console_examples() -> list[tuple[str, str, int, str]]:
    """(page, command, expected exit status, expected output) for every ``$`` line."""
    return [
        (name(page), *example)
        for page in PAGES
        for example in transcripts.console_examples(page.read_text(encoding="utf-8"))
    ]


@pytest.mark.parametrize(("page", "command", "status", "output"), console_examples())
def test_the_console_examples_print_what_the_page_shows(
    page: str, command: str, status: int, output: str
) -> None:
    assert transcripts.run(command) == (status, output), page


def test_every_example_file_is_shown_on_a_page() -> None:
    shown = {found for page in PAGES for found in INCLUDE.findall(page.read_text("utf-8"))}
    assert EXAMPLES
    assert shown == {str(example.relative_to(ROOT)) for example in EXAMPLES}


def test_every_public_name_is_in_the_guide() -> None:
    import tca_gate

    guide = "".join(page.read_text("utf-8") for page in PAGES if "reference" not in page.parts)
    missing = [n for n in tca_gate.__all__ if not re.search(rf"\b{re.escape(n)}\b", guide)]
    assert missing == []


def test_the_api_reference_names_public_paths_only() -> None:
    """The reference documents what users import: a private module may move any day."""
    public = {"tca_gate"} | {f"tca_gate.{name}" for name in PUBLIC_MODULES}
    shown = [
        found
        for page in (DOCS / "reference").glob("*.md")
        for found in re.findall(r"^::: ([\w.]+)$", page.read_text("utf-8"), re.MULTILINE)
    ]
    assert sorted(shown) == sorted(public)
