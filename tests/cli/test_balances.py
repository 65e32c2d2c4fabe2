"""Balances as the command line reads them: asset names, digit limits, JSON it cannot hold."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from tca_gate.cli import _balances
from tca_gate.rules import _dialect_strict as _strict
from tca_gate.rules import _stack, canonical_asset
from tests.support.cli import PREMIUM, run, stdin_of

# ---------------------------------------------------------------- balances json cannot hold


@pytest.mark.parametrize(
    ("balances", "flags", "problem"),
    [
        pytest.param(
            "[" * 100_000 + "]" * 100_000,
            [],
            "nests arrays or objects too deeply to read",
            id="deep-arrays",
        ),
        pytest.param(
            '{"a": ' * 100_000 + "1" + "}" * 100_000,
            [],
            "nests arrays or objects too deeply to read",
            id="deep-objects",
        ),
        pytest.param(
            '{"LTBCOIN": ' + "9" * 5000 + "}",
            [],
            "the balance of LTBCOIN is an integer of 5000 digits, more than any asset's supply",
            id="a-5000-digit-balance",
        ),
        pytest.param(
            '{"LTBCOIN": -' + "9" * 5000 + "}",
            ["--sat"],
            "the balance of LTBCOIN is an integer of 5000 digits, more than any asset's supply",
            id="a-5000-digit-balance-in-base-units",
        ),
        pytest.param(
            '{"LTBCOIN": "' + "9" * 5000 + '"}',
            ["--sat"],
            "the balance of LTBCOIN is a string of an integer of 5000 digits, more than any",
            id="a-5000-digit-string-in-base-units",
        ),
        pytest.param(
            "9" * 5000,
            [],
            "must be a JSON object of asset to amount, e.g. "
            '{"LTBCOIN": "0.5"}, not an integer of 5000 digits',
            id="a-5000-digit-document",
        ),
    ],
)
@pytest.mark.usefixtures("int_digit_limit")
def test_balances_json_cannot_hold_exit_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    balances: str,
    flags: list[str],
    problem: str,
) -> None:
    path = tmp_path / "balances.json"
    path.write_text(balances, encoding="utf-8")
    for argument, where in ((balances, "--balances "), (f"@{path}", f"{path} ")):
        code, out, err = run(capsys, "check", "LTBCOIN >= 1", "--balances", argument, *flags)
        assert (code, out) == (2, "")
        expected_start = "the balance of" if "balance of" in problem else where
        assert err.startswith(f"tca-gate check: error: {expected_start}")
        assert problem in err
        assert len(err) < 300


@pytest.mark.usefixtures("int_digit_limit")
def test_leading_zeros_do_not_count_against_the_digit_limit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    balances = '{"LTBCOIN": "' + "0" * 5000 + '1"}'
    code, out, _ = run(capsys, "check", "LTBCOIN >= 0.00000001", "--balances", balances, "--sat")
    assert (code, out) == (0, "allowed\n")


def test_balances_on_stdin_that_are_not_utf8_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"\xff": 1}'), "utf-8"))
    code, out, err = run(capsys, "check", PREMIUM, "--balances", "@-")
    assert (code, out) == (2, "")
    assert err.startswith("tca-gate check: error: cannot read balances from stdin: 'utf-8' codec")


# ---------------------------------------------------------------- asset names


@pytest.mark.parametrize(
    ("key", "asset"),
    [
        ("ltbcoin", "LTBCOIN"),
        ("xcp", "XCP"),
        ("a12345", "A12345"),
        ("ltbcoin.Gold", "LTBCOIN.Gold"),
        ("a12345.sub-Asset_1", "A12345.sub-Asset_1"),
        # Not Counterparty asset names, but assets the tokenpass dialect reads:
        ("foo", "FOO"),
        ("stackop_1", "STACKOP_1"),
        ("ltbcoin_gold", "LTBCOIN_GOLD"),
        ("ltbcoin.", "LTBCOIN."),
        ("straße.ß", "STRAßE.ß"),  # ASCII letters only, as PHP's strtoupper
    ],
)
def test_canonical_asset(key: str, asset: str) -> None:
    assert canonical_asset(key) == asset
    assert _strict.strict_asset(key) in (asset, None)


def test_asset_names_are_read_by_the_packages_own_functions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not hasattr(_balances, "_ASCII_UPPER")
    strict: list[str] = []
    upper: list[str] = []
    real_strict, real_upper = _strict.strict_asset, _stack.ascii_upper

    def strict_asset(name: str) -> str | None:
        strict.append(name)
        return real_strict(name)

    def ascii_upper(text: str) -> str:
        upper.append(text)
        return real_upper(text)

    monkeypatch.setattr(_strict, "strict_asset", strict_asset)
    monkeypatch.setattr(_strict, "ascii_upper", ascii_upper)
    balances = '{"ltbcoin.Gold": 1, "foo": 1}'
    assert run(capsys, "check", "LTBCOIN.Gold >= 1", "--balances", balances)[0] == 0
    assert strict[-2:] == ["ltbcoin.Gold", "foo"]
    assert upper[-1:] == ["foo"]


def test_tokenpass_assets_that_are_not_asset_names_can_be_given_balances(
    capsys: pytest.CaptureFixture[str],
) -> None:
    balances = '{"foo": 1, "ltbcoin_gold": 2}'
    rule = "foo=1&ltbcoin.gold=2"  # PHP reads ltbcoin.gold as LTBCOIN_GOLD
    assert run(capsys, "check", rule, "--dialect", "tokenpass", "--balances", balances)[0] == 0


# ---------------------------------------------------------------- amounts


@pytest.mark.parametrize("zero", ["0E+999999999", "0e-999999999", "-0.0"])
def test_zero_written_any_way_is_a_balance(capsys: pytest.CaptureFixture[str], zero: str) -> None:
    code, out, _ = run(capsys, "check", "LTBCOIN >= 0", "--balances", f'{{"LTBCOIN": {zero}}}')
    assert (code, out) == (0, "allowed\n")


_LARGEST = "9" * 40 + ".99999999"  # 40 digits before the point: tca_gate.rules._amounts.MAX_DIGITS


@pytest.mark.parametrize(
    ("amount", "flags"),
    [
        pytest.param(_LARGEST, [], id="tokens"),
        pytest.param(f'"{_LARGEST}"', [], id="token-string"),
        pytest.param(f"-{_LARGEST}", [], id="negative-tokens"),
        pytest.param("1e39", [], id="exponent"),
        pytest.param("9" * 48, ["--sat"], id="base-units"),
        pytest.param(f'"-{"9" * 48}"', ["--sat"], id="base-unit-string"),
    ],
)
def test_balances_up_to_the_packages_digit_limit_are_accepted(
    capsys: pytest.CaptureFixture[str], amount: str, flags: list[str]
) -> None:
    balances = f'{{"LTBCOIN": {amount}}}'
    code, _, err = run(capsys, "check", "LTBCOIN >= 1", "--balances", balances, *flags)
    assert (code, err) == (0 if "-" not in amount else 1, "")


@pytest.mark.parametrize(
    ("amount", "flags"),
    [
        pytest.param("1e40", [], id="exponent"),
        pytest.param("1" + "0" * 40, [], id="integer"),
        pytest.param("-1" + "0" * 40, [], id="negative-integer"),
        pytest.param("1" + "0" * 40 + ".5", [], id="decimal"),
        pytest.param("1" + "0" * 48, ["--sat"], id="base-units"),
        pytest.param(f'"-1{"0" * 48}"', ["--sat"], id="base-unit-string"),
    ],
)
def test_balances_past_the_packages_digit_limit_are_refused_in_the_same_words(
    capsys: pytest.CaptureFixture[str], amount: str, flags: list[str]
) -> None:
    balances = f'{{"LTBCOIN": {amount}}}'
    code, out, err = run(capsys, "check", "LTBCOIN >= 1", "--balances", balances, *flags)
    assert (code, out) == (2, "")
    assert err.startswith("tca-gate check: error: the balance of LTBCOIN is ")
    assert err.endswith(", more than any asset's supply (a balance must be under 10^40 tokens)\n")


def test_a_json_object_as_an_amount_is_called_an_object_without_toml_advice(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", stdin_of('{"LTBCOIN": {"balance": 10}}'))
    code, out, err = run(capsys, "check", "LTBCOIN >= 10", "--balances", "@-")
    assert (code, out) == (2, "")
    assert err == (
        "tca-gate check: error: the balance of LTBCOIN must be a number or a decimal "
        "string, not an object\n"
    )


@pytest.mark.parametrize(
    ("source", "kind", "flag"), [("json", "an object", "--sat"), ("toml", "a table", "sat = true")]
)
def test_the_balances_source_is_given_not_guessed(
    source: _balances.BalancesSource, kind: str, flag: str
) -> None:
    with pytest.raises(_balances.BalancesError, match=f"not {kind}"):
        _balances.balances_from_mapping({"LTBCOIN": {"x": 1}}, sat=False, source=source)
    with pytest.raises(_balances.BalancesError, match=f"drop {flag} to give tokens"):
        _balances.balances_from_mapping({"LTBCOIN": "0.5"}, sat=True, source=source)
