"""The built wheel works outside the repository: grammar inside, CLI runs from a fresh venv."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

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
    assert "tca_gate/grammar/tca.lark" in names
    assert "tca_gate/py.typed" in names
    shipped = zipfile.ZipFile(wheel).read("tca_gate/grammar/tca.lark")
    assert shipped == (ROOT / "grammar" / "tca.lark").read_bytes()
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
            "import tca_gate, tca_gate._grammar as g; "
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
