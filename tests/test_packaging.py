"""The built wheel works outside the repository: grammar inside, CLI runs from a fresh venv;
without an extra's packages the core still works, and what needs the extra names it."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.support.extras import EXTRAS, blocked, extra_modules

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
    )
    (built,) = out.glob("tca_gate-*.whl")
    return built


def test_wheel_ships_the_grammar_and_type_information(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "tca_gate/rules/tca.lark" in names
    assert "tca_gate/py.typed" in names
    shipped = zipfile.ZipFile(wheel).read("tca_gate/rules/tca.lark")
    assert shipped == (ROOT / "tca_gate" / "rules" / "tca.lark").read_bytes()
    assert not any(name.startswith(("tests/", "grammar/")) for name in names)


def test_installed_wheel_runs_the_cli_from_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        check=True,
    )
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import tca_gate, tca_gate.rules._grammar as g; "
            "print(tca_gate.__file__); print(g.grammar_text()[:40])",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert where[0].startswith(str(env_dir))
    assert where[1].startswith("// tca-gate rule grammar")
    run = subprocess.run(
        [
            str(env_dir / "bin" / "tca-gate"),
            "check",
            "LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR",
            "--balances",
            '{"LTBSTAFF": 1}',
        ],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "allowed"
    denied = subprocess.run(
        [str(env_dir / "bin" / "tca-gate"), "check", "LTBCOIN >= 10000", "--balances", "{}"],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
    )
    assert denied.returncode == 1


#: What needs each extra: importing its module, or making a Redis-backed store from a URL.
NEEDS = [
    ("tokenpass", "import tca_gate.tokenpass"),
    ("fastapi", "import tca_gate.fastapi"),
    ("login", "import tca_gate.login"),
    ("sandbox", "import tca_gate.sandbox"),
    ("delivery", "import tca_gate.delivery"),
    ("tokensnet", "import tca_gate.tokensnet"),
    ("tdx", "import tca_gate.tdx"),
    ("tokensoft", "import tca_gate.tokensoft"),
    ("tokensoft", "import tca_gate.tokensoft.testing"),
    ("counterparty", "import tca_gate.counterparty"),
    ("audit", "import tca_gate.audit"),
    ("metrics", "import tca_gate.metrics"),
    ("redis", "tca_gate.RedisReplayStore.from_url(URL)"),
    ("redis", "tca_gate.AsyncRedisReplayStore.from_url(URL)"),
    ("redis", "tca_gate.RedisCachedBalances.from_url(tca_gate.StaticBalances({}), URL)"),
]


@pytest.mark.parametrize(
    ("extra", "statement"),
    [pytest.param(extra, statement, id=statement.split("(")[0]) for extra, statement in NEEDS],
)
def test_what_needs_an_extra_names_it_when_the_extra_is_missing(extra: str, statement: str) -> None:
    assert f"pip install 'tca-gate[{extra}]'" in blocked(extra_modules(extra), statement)


@pytest.mark.parametrize(
    ("extra", "statement", "missing"),
    [
        pytest.param(
            extra,
            statement,
            missing,
            id=f"{statement.split('(')[0]}-without-{missing}",
        )
        for extra, statement in NEEDS
        for missing in extra_modules(extra)
    ],
)
def test_one_missing_package_of_an_extra_is_named_with_the_extra(
    extra: str, statement: str, missing: str
) -> None:
    """With one of the extra's packages missing, what needs it names the package and the
    extra; what does not need it (the Tokensoft client, graphql-core) still works."""
    answer = blocked([missing], statement)
    if answer != "ok":
        assert f"pip install 'tca-gate[{extra}]'" in answer
        assert missing in answer


@pytest.mark.parametrize("missing", ["uvicorn", "itsdangerous"])
def test_the_demo_names_both_extras_it_needs(missing: str) -> None:
    assert "pip install 'tca-gate[sandbox,login]'" in blocked([missing], "import tca_gate.demo")


CORE = """
from tca_gate import Gate, StaticBalances, compile_rule
from tca_gate.gate import TcaGateMiddleware
from tca_gate.cli import main
assert compile_rule("LTBCOIN >= 1").evaluate({"LTBCOIN": 100000000})
assert main(["check", "LTBCOIN >= 1", "--balances", '{"LTBCOIN": 1}']) == 0
import tca_gate.tdx
"""


def test_the_core_works_with_no_extra_installed() -> None:
    every: set[str] = set()
    for extra in EXTRAS.keys() - {"all", "dev"}:
        every.update(extra_modules(extra))
    assert "pip install 'tca-gate[tdx]'" in blocked(sorted(every), CORE)
