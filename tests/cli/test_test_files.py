"""``tca-gate test``: files of cases pass or fail and explain why; a file it cannot use
exits 2 naming the case and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tca_gate import cli, compile_rule
from tests.support.cli import PREMIUM, fixture, run, write


def test_a_passing_file_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "test", fixture("passing.toml"))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "PASS  staff get in without LTBCOIN"
    assert lines[-1] == "6 passed, 0 failed"
    assert sum(line.startswith("PASS  ") for line in lines) == 6


def test_a_failing_file_exits_4_and_explains_the_failure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "test", fixture("failing.toml"))
    assert code == 4
    lines = out.splitlines()
    assert lines[0] == "PASS  staff get in"
    assert lines[1] == "FAIL  a whale just short of the threshold: expected allow, got deny"
    assert lines[2] == "  " + compile_rule(PREMIUM).explain({"LTBCOIN": 999_950_000_000}).summary
    assert "      LTBCOIN   >=    10,000  9,999.5  fail         +0.5" in lines
    assert lines[-1] == "1 passed, 1 failed"


def test_json_results(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "test", fixture("failing.toml"), "--json")
    assert code == 4
    document = json.loads(out)
    assert (document["passed"], document["failed"]) == (1, 1)
    staff, whale = document["cases"]
    assert (staff["name"], staff["passed"], whale["passed"]) == ("staff get in", True, False)
    assert whale["expect"] == "allow"
    assert whale["uses"] == "premium"
    assert (
        whale["decision"] == compile_rule(PREMIUM).explain({"LTBCOIN": 999_950_000_000}).to_dict()
    )


def test_the_documented_example_file_passes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.__doc__ is not None
    example = cli.__doc__.split("allow or deny it:\n", 1)[1].split("\nBalances are", 1)[0]
    code, out, _ = run(capsys, "test", write(tmp_path, example))
    assert code == 0
    assert out.splitlines()[-1] == "3 passed, 0 failed"


def test_a_toml_float_amount_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "test", fixture("float-amount.toml"))
    assert (code, out) == (2, "")
    assert "case 1 ('half a token'), balances" in err
    assert "the balance of LTBCOIN is the TOML float 0.5" in err
    assert 'quote it, LTBCOIN = "0.5"' in err


def test_a_rule_that_does_not_compile_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "test", fixture("bad-rule.toml"))
    assert (code, out) == (3, "")
    assert "case 1 ('uses a broken rule'): rules.broken does not compile" in err
    assert "  LTBCOIN=1&op_0=>>\n" in err


def test_an_unused_rule_that_does_not_compile_exits_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        """
        [rules]
        good = "LTBCOIN >= 1"
        spare = "LTBCOIN >>= 1"

        [[case]]
        name = "fine"
        uses = "good"
        balances = { LTBCOIN = 1 }
        expect = "allow"
        """,
    )
    code, out, err = run(capsys, "test", path)
    assert (code, out) == (3, "")
    assert "rules.spare does not compile" in err


def test_file_defaults_apply_to_every_case(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        """
        dialect = "tokenpass"
        sat = true

        [[case]]
        name = "exponent, in base units"
        rule = "LTBCOIN=1e3"
        balances = { LTBCOIN = 100000000000 }
        expect = "allow"

        [[case]]
        name = "one base unit short"
        rule = "LTBCOIN=1e3"
        balances = { LTBCOIN = "99999999999" }
        expect = "deny"

        [[case]]
        name = "a case can go back to tokens and strict"
        rule = "LTBCOIN >= 1000"
        dialect = "strict"
        sat = false
        balances = { LTBCOIN = 1000 }
        expect = "allow"
        """,
    )
    code, out, _ = run(capsys, "test", path)
    assert code == 0, out
    assert out.splitlines()[-1] == "3 passed, 0 failed"


def test_typos_are_reported_under_the_case(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        """
        [[case]]
        name = "passes only because of a typo"
        rule = "LTBCOIN >= 1"
        balances = { LTBCION = 5 }
        expect = "deny"
        """,
    )
    code, out, _ = run(capsys, "test", path)
    assert code == 0
    assert out.splitlines()[:2] == [
        "PASS  passes only because of a typo",
        "      warning: the balances hold LTBCION, which the rule does not read "
        "(it reads LTBCOIN: a typo in one of them?)",
    ]


_CASE = 'name = "c"\nrule = "LTBCOIN >= 1"\nbalances = { LTBCOIN = 1 }\nexpect = "allow"\n'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[case]\n", "is not valid TOML"),
        ("[[cases]]\n" + _CASE, "cases: unknown key; did you mean 'case'?"),
        ('[rules]\nx = "LTBCOIN >= 1"\n', "case: the file has no [[case]] entries"),
        ("[case]\n" + _CASE, "case: cases are written as [[case]] tables"),
        ("[rules]\nx = 1\n[[case]]\n" + _CASE, "rules.x: must be the rule's text"),
        ('dialect = "php"\n[[case]]\n' + _CASE, 'dialect: must be "strict" or "tokenpass"'),
        ("sat = 1\n[[case]]\n" + _CASE, "sat: must be true or false, not the integer 1"),
        ("[[case]]\n" + _CASE.replace('name = "c"\n', ""), "case 1: every case needs a name"),
        (
            "[[case]]\n" + _CASE + 'uses = "x"\n',
            "case 1 ('c'): give either rule",
        ),
        (
            "[[case]]\n" + _CASE.replace('rule = "LTBCOIN >= 1"\n', ""),
            "case 1 ('c'): give either rule",
        ),
        (
            '[rules]\npremium = "LTBCOIN >= 1"\n[[case]]\n'
            + _CASE.replace('rule = "LTBCOIN >= 1"', 'uses = "premum"'),
            "case 1 ('c'), uses: no rule named 'premum' in [rules] (known: premium); "
            "did you mean 'premium'?",
        ),
        ("[[case]]\n" + _CASE.replace("rule = ", "rule = 5 #"), "case 1 ('c'), rule: must be"),
        (
            "[[case]]\n" + _CASE.replace('expect = "allow"', 'expect = "allowed"'),
            "case 1 ('c'), expect: must be \"allow\" or \"deny\"; not the string 'allowed'",
        ),
        ("[[case]]\n" + _CASE.replace('expect = "allow"', ""), "case 1 ('c'), expect: must be"),
        (
            "[[case]]\n" + _CASE.replace("expect =", "expected ="),
            "case 1 ('c'), expected: unknown key; did you mean 'expect'?",
        ),
        ("[[case]]\n" + _CASE.replace("balances", "#"), "case 1 ('c'), balances: missing"),
        (
            "[[case]]\n" + _CASE.replace("{ LTBCOIN = 1 }", "5"),
            "case 1 ('c'), balances: must be a table",
        ),
        (
            "[[case]]\n" + _CASE.replace("1 }", '"1,5" }'),
            "case 1 ('c'), balances: the balance of LTBCOIN: '1,5' is not a decimal",
        ),
        (
            "[[case]]\n" + _CASE + "[[case]]\n" + _CASE,
            "case 2: name 'c' is already the name of case 1",
        ),
        (
            "[[case]]\n" + _CASE.replace("1 }", '"0.5" }') + "sat = true\n",
            "case 1 ('c'), balances: the balance of LTBCOIN is '0.5', not a whole number "
            "of base units (sat = true amounts are integers",
        ),
        ("[[case]]\n" + _CASE + "dialect = 7\n", "case 1 ('c'), dialect: must be"),
    ],
)
def test_malformed_files_exit_2_naming_case_and_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path, text)
    code, out, err = run(capsys, "test", path)
    assert (code, out) == (2, "")
    assert err.startswith(f"tca-gate test: error: {path}")
    assert problem in err


def test_a_missing_test_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "test", "/no/such/cases.toml")
    assert code == 2
    assert "cannot read /no/such/cases.toml" in err


# ---------------------------------------------------------------- files tomllib cannot read


_CASE_HEAD = 'name = "c"\nrule = "LTBCOIN >= 1"\nexpect = "allow"\n'


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        pytest.param(
            ("[[case]]\n" + _CASE_HEAD + "balances = { LTBCOIN = " + "9" * 5000 + " }\n").encode(),
            ", line 5: a number has 5000 digits, more than Python reads (4300)",
            id="a-5000-digit-balance",
        ),
        pytest.param(
            (
                "[[case]]\n" + _CASE_HEAD + "balances = { LTBCOIN = 1_" + "0" * 4400 + " }\n"
            ).encode(),
            ", line 5: a number has 4401 digits",
            id="a-long-balance-with-an-underscore",
        ),
        pytest.param(
            b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n",
            ": arrays or tables are nested too deeply to read",
            id="deeply-nested-arrays",
        ),
        pytest.param(
            b"x = " + b"{a = " * 5000 + b"1" + b"}" * 5000 + b"\n",
            ": arrays or tables are nested too deeply to read",
            id="deeply-nested-inline-tables",
        ),
        pytest.param(
            ("[[case]]\n" + _CASE_HEAD + "balances = {}\n").encode() + b"# caf\xe9\n",
            ", line 6: not UTF-8 text (byte 0xe9); TOML files are UTF-8",
            id="latin-1",
        ),
        pytest.param(b"\xff\xfe[\x00", ", line 1: not UTF-8 text (byte 0xff)", id="utf-16"),
        pytest.param(b"x = [1,\n", " is not valid TOML: ", id="invalid-toml"),
    ],
)
@pytest.mark.usefixtures("int_digit_limit")
def test_a_file_tomllib_cannot_read_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    data: bytes,
    problem: str,
) -> None:
    path = tmp_path / "cases.toml"
    path.write_bytes(data)
    code, out, err = run(capsys, "test", str(path))
    assert (code, out) == (2, "")
    assert err.startswith(f"tca-gate test: error: {path}{problem}")
    assert err.count("\n") == 1
    assert len(err) < 300


@pytest.mark.usefixtures("int_digit_limit")
def test_a_toml_integer_too_long_to_print_is_refused_by_size(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Hexadecimal escapes the int-from-string limit, but str() of the integer does not.
    huge = "0x" + "f" * 5000
    path = write(tmp_path, f"sat = true\n[[case]]\n{_CASE_HEAD}balances = {{ LTBCOIN = {huge} }}\n")
    code, _, err = run(capsys, "test", path)
    assert code == 2
    assert "the balance of LTBCOIN is an integer of more than 60 digits, more than any" in err
    path = write(tmp_path, f"sat = {huge}\n[[case]]\n{_CASE_HEAD}balances = {{}}\n")
    code, _, err = run(capsys, "test", path)
    assert code == 2
    assert "sat: must be true or false, not an integer of more than 60 digits" in err


# ---------------------------------------------------------------- TOML values as amounts


@pytest.mark.parametrize("written", ["inf", "+inf", "-inf", "nan", "+nan", "-nan"])
def test_a_toml_inf_or_nan_is_not_an_amount(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, written: str
) -> None:
    path = write(tmp_path, f"[[case]]\n{_CASE_HEAD}balances = {{ LTBCOIN = {written} }}\n")
    code, out, err = run(capsys, "test", path)
    assert (code, out) == (2, "")
    assert (
        f"case 1 ('c'), balances: the balance of LTBCOIN is {written}, which is not an amount: "
        'a balance is a finite number, such as 10 or "0.5"'
    ) in err
    assert "quote it" not in err


def test_quoting_inf_would_not_have_helped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, f'[[case]]\n{_CASE_HEAD}balances = {{ LTBCOIN = "inf" }}\n')
    assert run(capsys, "test", path)[0] == 2


def test_the_quote_it_advice_is_valid_toml_for_any_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, f'[[case]]\n{_CASE_HEAD}balances = {{ "ltbcoin.Gold" = 0.5 }}\n')
    code, _, err = run(capsys, "test", path)
    assert code == 2
    assert 'quote it, "ltbcoin.Gold" = "0.5"' in err


def test_a_dotted_toml_key_gets_a_hint_to_quote_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        """
        [[case]]
        name = "subasset"
        rule = "PEPE.x >= 1"
        balances = { PEPE.x = 1 }
        expect = "allow"
        """,
    )
    code, _, err = run(capsys, "test", path)
    assert code == 2
    assert '"PEPE.x" = 1' in err


def test_a_toml_float_under_sat_is_refused_without_advice_to_quote_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        """
        sat = true
        [[case]]
        name = "float"
        rule = "LTBCOIN >= 1"
        balances = { LTBCOIN = 1.5 }
        expect = "deny"
        """,
    )
    code, _, err = run(capsys, "test", path)
    assert code == 2
    assert "base units are whole numbers" in err
    assert "quote it" not in err


def test_a_toml_table_as_an_amount_keeps_the_advice_to_quote_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, f"[[case]]\n{_CASE_HEAD}balances = {{ PEPE.x = 1 }}\n")
    code, _, err = run(capsys, "test", path)
    assert code == 2
    assert (
        "balances: the balance of PEPE must be a number or a decimal string, not a table "
        '(to name a subasset in TOML, quote it: "PEPE.x" = 1)'
    ) in err
