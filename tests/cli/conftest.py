"""Fixtures for the command line's tests only."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture
def int_digit_limit() -> Iterator[int]:
    """Python's default limit on int-from-string conversion, whatever the environment set."""
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(4300)
    yield 4300
    sys.set_int_max_str_digits(before)
