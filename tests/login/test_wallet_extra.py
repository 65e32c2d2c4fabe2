"""The wallet extra: what needs it names it when a package is missing, every package it
lists is one the wallet sign-in needs, and the Tokenpass login does not need it."""

from __future__ import annotations

import pytest

from tests.support.extras import blocked, extra_modules

WALLET = "import tca_gate.login.wallet"


@pytest.mark.parametrize("statement", [WALLET, "import tca_gate.signing.bitcoin"])
@pytest.mark.parametrize("missing", ["coincurve", "base58"])
def test_what_needs_the_wallet_extra_names_it_and_the_missing_package(
    statement: str, missing: str
) -> None:
    answer = blocked([missing], statement)
    assert "pip install 'tca-gate[wallet]'" in answer
    assert f"({missing} is missing)" in answer


@pytest.mark.parametrize("module", extra_modules("wallet"))
def test_every_package_of_the_wallet_extra_is_needed(module: str) -> None:
    assert blocked([module], WALLET).startswith("ImportError:")


def test_the_wallet_sign_in_imports_with_its_extra() -> None:
    assert blocked([], WALLET) == "ok"


def test_the_tokenpass_login_works_without_the_wallet_extra() -> None:
    assert blocked(["coincurve", "base58"], "import tca_gate.login") == "ok"
