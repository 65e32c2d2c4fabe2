"""Exact token <-> base unit conversion: no float anywhere."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tca_gate import AmountError, format_tokens, sat_to_tokens, tokens_to_sat


@pytest.mark.parametrize(
    ("tokens", "sat"),
    [
        ("1", 100_000_000),
        ("0.00000001", 1),
        ("1200", 120_000_000_000),
        ("0.1", 10_000_000),
        ("-2.5", -250_000_000),
        (".5", 50_000_000),
        ("5.", 500_000_000),
        ("1.10000000", 110_000_000),
        ("90071992.54740993", 2**53 + 1),
        (7, 700_000_000),
        (Decimal("0.3"), 30_000_000),
        (Decimal("1E+3"), 100_000_000_000),
        (Decimal("0E-20"), 0),
        (Decimal("0E+100"), 0),
        (Decimal("1." + "0" * 10_000), 100_000_000),
        (Decimal("100000000000000000000.00000001"), 10**28 + 1),
    ],
)
def test_tokens_to_sat(tokens: str | int | Decimal, sat: int) -> None:
    assert tokens_to_sat(tokens) == sat


@pytest.mark.parametrize(
    "bad",
    [0.1, True, None, "1,000", "1e3", "abc", "0.000000001", Decimal("NaN"), Decimal("1E-9"), ""],
)
def test_inexact_or_malformed_amounts_are_refused(bad: object) -> None:
    with pytest.raises(AmountError):
        tokens_to_sat(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (Decimal("1E+999999"), "more than 40 digits"),
        (Decimal("1E-999999"), "more than 8 decimal places"),
        ("9" * 10_000, "more than 40 digits"),
    ],
)
def test_huge_amounts_are_refused_quickly(bad: object, reason: str) -> None:
    with pytest.raises(AmountError, match=reason):
        tokens_to_sat(bad)  # type: ignore[arg-type]


def test_float_refusal_says_why() -> None:
    with pytest.raises(AmountError, match="floats are inexact"):
        tokens_to_sat(0.1)  # type: ignore[arg-type]


@given(st.integers(-(10**30), 10**30))
def test_round_trip(sat: int) -> None:
    assert tokens_to_sat(sat_to_tokens(sat)) == sat
    assert tokens_to_sat(format(sat_to_tokens(sat), "f")) == sat
    assert tokens_to_sat(format_tokens(sat, grouping=False)) == sat


@pytest.mark.parametrize(
    ("sat", "text"),
    [
        (120_000_000_000, "1,200"),
        (50_000_000, "0.5"),
        (1, "0.00000001"),
        (-123_456_789_000, "-1,234.56789"),
        (0, "0"),
    ],
)
def test_format_tokens(sat: int, text: str) -> None:
    assert format_tokens(sat) == text
    assert sat_to_tokens(sat) == Decimal(text.replace(",", ""))


def test_sat_to_tokens_refuses_non_ints() -> None:
    with pytest.raises(AmountError):
        sat_to_tokens(1.5)  # type: ignore[arg-type]
