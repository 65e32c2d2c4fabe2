"""Without the ``counterparty`` extra, the client and the balance source say what to install."""

from __future__ import annotations

import pytest

from tests.support.extras import blocked


@pytest.mark.parametrize("missing", ["httpx2", "stamina"])
@pytest.mark.parametrize(
    "statement",
    ["import tca_gate.counterparty", "tca_gate.CounterpartyBalances('http://127.0.0.1:4000')"],
)
def test_what_needs_the_extra_names_it_and_the_missing_package(
    statement: str, missing: str
) -> None:
    answer = blocked([missing], statement)
    assert "pip install 'tca-gate[counterparty]'" in answer
    assert f"{missing} is missing" in answer
