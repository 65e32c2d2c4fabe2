"""Helpers for the command line's tests: ``main`` run in-process, its data files, inputs."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from tca_gate.cli import main
from tests.support.data import FIXTURES as DATA

#: The command line's data files (rule test files, balances).
FIXTURES = DATA / "cli"
#: A rule most tests check: 10,000 LTBCOIN or 1 LTBSTAFF.
PREMIUM = "LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR"
BIG = "Q" * 1_000_000  # a megabyte of key, name or value


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``tca-gate *argv`` in-process: its exit status, stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fixture(name: str) -> str:
    return str(FIXTURES / name)


def stdin_of(text: str) -> io.TextIOWrapper:
    """A stdin holding ``text`` as UTF-8 bytes, as a process gets it."""
    return io.TextIOWrapper(io.BytesIO(text.encode()), "utf-8")


def write(tmp_path: Path, text: str, name: str = "cases.toml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)
