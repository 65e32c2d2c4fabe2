"""The tests' data files: everything under ``tests/fixtures``, read from one place."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

#: The repository's root.
ROOT = Path(__file__).resolve().parents[2]
#: The folder of the tests' data files.
FIXTURES = ROOT / "tests" / "fixtures"


def load_toml(name: str) -> dict[str, Any]:
    with (FIXTURES / name).open("rb") as handle:
        return tomllib.load(handle)


def php_text(value: str | dict[str, str]) -> str:
    """A string recorded from PHP as the ``str`` tca-gate uses (raw bytes as surrogateescape)."""
    if isinstance(value, str):
        return value
    return bytes.fromhex(value["hex"]).decode("utf-8", "surrogateescape")
