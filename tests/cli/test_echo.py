"""Echoed input stays short: a megabyte of key, name, value or path is cut in every message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tca_gate import errors
from tca_gate.cli import _balances, _echo
from tca_gate.rules import _amounts
from tests.support.cli import BIG, run, write


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        pytest.param(
            ["--balances", json.dumps({BIG: True})], "the balance of QQQ", id="key-bad-amount"
        ),
        pytest.param(
            ["--balances", json.dumps({BIG: 1, BIG.lower(): 1})], "both name the asset", id="dup"
        ),
        pytest.param(
            ["--balances", f'{{"{BIG}": 1, "{BIG}": 2}}'], "appears twice", id="json-duplicate"
        ),
        pytest.param(
            ["--balances", json.dumps({"LTBCOIN": BIG}), "--sat"],
            "not a whole number of base units",
            id="string-amount",
        ),
        pytest.param(
            ["--balances", '{"LTBCOIN": ' + "1" * 1_000_000 + ".5}"],
            "more than any asset's supply",
            id="decimal-amount",
        ),
        pytest.param(["--balances", json.dumps(BIG)], "not the string 'QQQ", id="document"),
        pytest.param(
            ["--balances", "@/" + "d/" * 50_000 + "balances.json"],
            "cannot read balances from /d/d/",
            id="path",
        ),
    ],
)
def test_check_messages_cut_echoed_input_short(
    capsys: pytest.CaptureFixture[str], argv: list[str], problem: str
) -> None:
    code, out, err = run(capsys, "check", "LTBCOIN >= 1", *argv)
    assert (code, out) == (2, "")
    assert problem in err
    assert "…" in err
    assert "Q" * 61 not in err
    assert len(err) < 400


def test_typo_warnings_cut_names_short(capsys: pytest.CaptureFixture[str]) -> None:
    asset, typo = "Q" * 200, "Q" * 199 + "X"
    rule = f"{asset}=1"
    code, _, err = run(
        capsys, "check", rule, "--dialect", "tokenpass", "--balances", json.dumps({typo: 1})
    )
    assert code == 1
    cut = "Q" * 59 + "…"
    assert err == (
        f"tca-gate: warning: the balances hold {cut}, which the rule does not read "
        f"(it reads {cut}: a typo in one of them?)\n"
    )


_GOOD_CASE = 'rule = "LTBCOIN >= 1"\nbalances = {}\nexpect = "deny"\n'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(f"{BIG} = 1\n", "QQQ…: unknown key", id="unknown-key"),
        pytest.param(f'[[case]]\nname = "{BIG}"\n', "case 1 ('QQQ", id="case-name"),
        pytest.param(
            f'[[case]]\nname = "{BIG}"\n{_GOOD_CASE}[[case]]\nname = "{BIG}"\n{_GOOD_CASE}',
            "is already the name of case 1",
            id="duplicate-case-name",
        ),
        pytest.param(
            "[rules]\n"
            + "".join(f'{BIG[:1000]}{n} = "LTBCOIN >= 1"\n' for n in range(500))
            + f'[[case]]\nname = "c"\nuses = "{BIG}"\nbalances = {{}}\nexpect = "deny"\n',
            "and 495 more)",
            id="uses-and-known-rules",
        ),
        pytest.param(f"[rules]\n{BIG} = 1\n", "rules.QQQ", id="rule-name"),
        pytest.param(
            f'[[case]]\nname = "c"\nrule = "LTBCOIN >= 1"\nbalances = {{}}\nexpect = "{BIG}"\n',
            "not the string 'QQQ",
            id="expect-value",
        ),
        pytest.param(
            f'[[case]]\nname = "c"\nrule = "LTBCOIN >= 1"\nbalances = {{ {BIG} = true }}\n',
            "the balance of QQQ",
            id="balance-key",
        ),
        pytest.param(
            '[[case]]\nname = "c"\nrule = "LTBCOIN >= 1"\n'
            f"balances = {{ LTBCOIN = 1.{'1' * 1_000_000} }}\n",
            "is the TOML float 1.111",
            id="toml-float",
        ),
        pytest.param(
            f'[rules]\n{BIG} = "LTBCOIN >>= 1"\n[[case]]\nname = "{BIG}"\nuses = "{BIG}"\n'
            'balances = {}\nexpect = "deny"\n',
            "does not compile",
            id="rule-that-does-not-compile",
        ),
    ],
)
def test_test_file_messages_cut_echoed_input_short(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, problem: str
) -> None:
    code, out, err = run(capsys, "test", write(tmp_path, text))
    assert code in (2, 3)
    assert out == ""
    assert problem in err
    assert "…" in err
    assert "Q" * 61 not in err
    assert len(err) < 600


def test_a_long_file_name_keeps_its_start_and_end(capsys: pytest.CaptureFixture[str]) -> None:
    path = "/no/such/" + "d" * 1_000_000 + "/cases.toml"
    code, _, err = run(capsys, "test", path)
    assert code == 2
    shown = _echo.clip_path(path)
    assert err == f"tca-gate test: error: cannot read {shown}: File name too long\n"
    assert shown.startswith("/no/such/ddd")
    assert shown.endswith("ddd/cases.toml")
    assert len(shown) == _echo.PATH_ECHO_LIMIT


@pytest.mark.parametrize(
    ("key", "shown"),
    [("Q" * 60, "Q" * 60), ("Q" * 61, "Q" * 59 + "…"), (BIG, "Q" * 59 + "…")],
)
def test_echoed_values_are_cut_at_60_characters(
    capsys: pytest.CaptureFixture[str], key: str, shown: str
) -> None:
    code, _, err = run(capsys, "check", "LTBCOIN >= 1", "--balances", json.dumps({key: None}))
    assert code == 2
    assert err == f"tca-gate check: error: the balance of {shown} must be a number or a " + (
        "decimal string, not null\n"
    )


def test_the_cli_uses_the_packages_own_shorten_and_digit_limit() -> None:
    assert not hasattr(_echo, "clip")
    assert not hasattr(_balances, "MAX_WHOLE_DIGITS")
    assert vars(_echo)["shorten"] is errors.shorten
    assert vars(_balances)["MAX_DIGITS"] is _amounts.MAX_DIGITS
