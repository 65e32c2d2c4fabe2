"""The README keeps its promises: the two commands come first, the rule example runs as a
doctest, and the FastAPI recipe, run as written, gates a real app served over loopback
against the sandbox through the real "Log in with Tokenpass"."""

from __future__ import annotations

import doctest
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tca_gate.demo import BackgroundServer, demo_seed
from tca_gate.sandbox import SandboxServer
from tests.docs import transcripts
from tests.support.browsing import JSON, browser, log_in

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)#]+)(?:#[^)]*)?\)")
RECIPE = ROOT / "docs" / "examples" / "fastapi_recipe.py"


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README) if lang == language]


def recipe() -> str:
    (found,) = [body for body in blocks("python") if ">>>" not in body]
    return found


def test_the_readme_starts_with_the_two_commands() -> None:
    first = blocks("sh")[0].splitlines()
    assert [line.split("#")[0].strip() for line in first] == ["./scripts/demo", "./scripts/test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.strip().splitlines()[-1] == "exec scripts/test"


def test_the_readme_is_short_and_its_links_lead_to_pages() -> None:
    assert len(README.splitlines()) <= 150
    links = LINK.findall(README)
    assert len(links) > 10
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_the_rule_example_runs() -> None:
    (body,) = [body for body in blocks("python") if ">>>" in body]
    test = doctest.DocTestParser().get_doctest(body, {}, "README.md", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert (runner.failures, len(test.examples)) == (0, 5)


@pytest.mark.parametrize(("command", "status", "output"), transcripts.console_examples(README))
def test_the_console_example_prints_what_the_readme_shows(
    command: str, status: int, output: str
) -> None:
    assert transcripts.run(command) == (status, output)


def test_the_recipe_is_the_example_the_docs_show() -> None:
    assert recipe() == RECIPE.read_text(encoding="utf-8")
    assert len(recipe().splitlines()) <= 30


@pytest.fixture
def served_recipe(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, SandboxServer]]:
    """The README's recipe, as written, under uvicorn on loopback, its Tokenpass a sandbox
    whose demo app takes the recipe's logins back; yields the app's URL and the sandbox."""
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with SandboxServer(demo_seed([url])) as sandbox:
        monkeypatch.setenv("TOKENPASS_URL", sandbox.url)
        monkeypatch.setenv("TOKENPASS_CLIENT_ID", sandbox.client_id)
        monkeypatch.setenv("TOKENPASS_CLIENT_SECRET", sandbox.client_secret)
        monkeypatch.setenv("SESSION_SECRET", "a long random secret for the test")
        module = ModuleType("app")
        exec(compile(recipe(), "README.md", "exec"), module.__dict__)
        with BackgroundServer(module.app, listener):
            yield url, sandbox


def test_the_recipe_gates_a_fastapi_app_behind_log_in_with_tokenpass(
    served_recipe: tuple[str, SandboxServer],
) -> None:
    url, sandbox = served_recipe
    with browser(url) as anonymous:
        refused = anonymous.get("/members", headers=JSON)
        assert (refused.status_code, refused.json()["error"]) == (401, "unauthenticated")
        assert anonymous.get("/members").headers["location"] == "/auth/login?next=%2Fmembers"
    with browser(url) as alice:
        back = log_in(alice, "/auth/login?next=/members", "alice", sandbox.password_of("alice"))
        assert (back.url.path, back.status_code) == ("/members", 200)
        welcome = alice.get("/members", headers=JSON)
        assert (welcome.status_code, welcome.json()) == (200, {"welcome": "alice"})
        assert welcome.headers["cache-control"] == "private, no-store"
    with browser(url) as bob:
        assert (
            log_in(bob, "/auth/login?next=/members", "bob", sandbox.password_of("bob")).status_code
            == 403
        )
        refused = bob.get("/members", headers=JSON)
        assert refused.status_code == 403
        assert refused.json()["detail"] == "Needs 1 TOKENLY, or 1,200 more LTBCOIN."
        cookie = bob.cookies.jar
        assert all(c.secure for c in cookie)  # https_only: never sent over plain HTTP elsewhere
