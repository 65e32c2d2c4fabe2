"""``unix_seconds``: the one check of a time parameter every client sends as unix seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tca_gate.errors import InvalidArgumentError
from tca_gate.service import unix_seconds


def test_an_aware_datetime_is_its_unix_seconds_whatever_its_zone() -> None:
    moment = datetime(2038, 1, 19, 3, 14, 7, tzinfo=UTC)
    in_paris = moment.astimezone(timezone(timedelta(hours=1)))
    assert unix_seconds("when", moment) == unix_seconds("when", in_paris) == 2**31 - 1


def test_seconds_pass_as_they_are_and_zero_only_when_not_positive() -> None:
    assert unix_seconds("when", 1_700_000_000, positive=True) == 1_700_000_000
    assert unix_seconds("when", 0) == 0
    with pytest.raises(InvalidArgumentError, match=r"^when must be a unix time .* not 0$"):
        unix_seconds("when", 0, positive=True)


def test_a_naive_datetime_is_refused_rather_than_read_in_the_local_zone() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^when must be a timezone-aware datetime"):
        unix_seconds("when", datetime(2030, 1, 1))


@pytest.mark.parametrize("value", [-1, True, 1.5, "1700000000", None])
def test_what_is_not_seconds_or_a_datetime_is_refused(value: object) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^when must be a unix time in seconds"):
        unix_seconds("when", value)
