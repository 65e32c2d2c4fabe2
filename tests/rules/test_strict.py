"""The strict dialect: what it accepts, and errors that say what, where and what instead."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tca_gate import Clause, Op, RuleSyntaxError, TcaGateError, compile_rule


def error_for(rule: object) -> RuleSyntaxError:
    with pytest.raises(RuleSyntaxError) as caught:
        compile_rule(rule)  # type: ignore[arg-type]
    return caught.value


def test_rule_syntax_error_is_a_value_error_and_a_tca_gate_error() -> None:
    error = error_for("LTB=5")
    assert isinstance(error, ValueError)
    assert isinstance(error, TcaGateError)


@pytest.mark.parametrize(
    ("text", "key", "position", "caret_under"),
    [
        ("LTBCOIN=10000&stackop_1=OR", "stackop_1", 14, "stackop_1"),
        ("LTBCOIN=1,000", "LTBCOIN", 8, "1,000"),
        ("LTBCOIN=10&stackOp_1=XOR&TOKENLY=1", "stackOp_1", 21, "XOR"),
        ("LTB=5", "LTB", 0, "LTB"),
        ("LTBCOIN=5&oauth_token=abc", "oauth_token", 10, "oauth_token"),
        ("LTBCOIN=5&op_0==>", "op_0", 15, "=>"),
        ("LTBCOIN=5&LTBCOIN=6", "LTBCOIN", 10, "LTBCOIN"),
        ("LTBCOIN=5&stack_op_1=OR&TOKENLY=1", "stack_op_1", 10, "stack_op_1"),
        ("TOKENLY=1&op_0=<&OP_0=>", "OP_0", 17, "OP_0"),
        ("TOKENLY=0.000000001", "TOKENLY", 8, "0.000000001"),
    ],
)
def test_error_names_key_position_and_shows_a_caret(
    text: str, key: str, position: int, caret_under: str
) -> None:
    error = error_for(text)
    assert error.key == key
    assert error.position == position
    assert error.text == text
    rendered = str(error).splitlines()
    assert f"(at character {position})" in rendered[0]
    line, carets = rendered[1], rendered[2]
    start = carets.index("^")
    assert line[start : start + len(caret_under)] == caret_under
    assert carets.strip() == "^" * len(caret_under)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("LTBCOIN=5&stack_op_1=OR&TOKENLY=1", "did you mean stackop_1?"),
        ("LTBCOIN=5&stackops_1=OR&TOKENLY=1", "did you mean stackop_1?"),
        ("LTBCOIN=5&opp_0=<", "did you mean op_0?"),
        ("LTBCOIN=5&op_0==>", "did you mean >=?"),
        ("LTBCOIN=1,000", "write 1000"),
        ("LTBCOIN=.5", "write 0.5"),
        ("LTBCOIN=1e3", "write 1000"),
        ("LTBCOIN=+5", "write 5"),
        ("LTBCOIN >= 1 & TOKENLY >= 1", "'and' / 'or', not '&'"),
        ("LTBCOIN = 5", "write == or >="),
        ("LTBCOIN=5&oauth_token=x", "pass oauth_token separately"),
    ],
)
def test_hints_say_what_would_have_been_accepted(text: str, hint: str) -> None:
    error = error_for(text)
    assert error.hint is not None
    assert hint in error.hint
    assert "hint: " + error.hint in str(error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LTBCOIN=5&op_0=~", ">="),
        ("LTBCOIN=5&stackop_0=XOR", "OR"),
        ("LTBCOIN=abc", "a decimal amount"),
        ("ltb=1", "op_N"),
    ],
)
def test_errors_list_what_would_have_been_accepted(text: str, expected: str) -> None:
    error = error_for(text)
    assert any(expected in item for item in error.expected)
    assert "expected: " in str(error)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "&",
        "LTBCOIN",
        "LTBCOIN=",
        "=5",
        "LTBCOIN=5&",
        "&LTBCOIN=5",
        "LTBCOIN=5&&A1=1",
        "op_0=>",
        "stackop_0=OR",
        "LTBCOIN=-1",
        "LTBCOIN=1.5.5",
        "LTBCOIN=1 ",
        "LTBCOIN=0x10",
        "LTBCOIN=5&op_1=<",
        "LTBCOIN=5&op_0=<&op_0=>",
        "LTBCOIN=5&op_0=<&OP_0=<",
        "LTBCOIN=5&stackop_0=or&STACKOP_0=OR",
        "LTBCOIN=1e400",
        "LTBCOIN=NaN",
        "LTBCOIN=inf",
        "client_id=x&LTBCOIN=1",
        "ABCDEFGHIJKLM=1",
        "BTCX1=1",
        "PEPE.=1",
        "PEPE..x=1",
        "1ABC=1",
        "LTBCOIN=5&op_x=<",
        "LTBCOIN=5&op_-1=<",
        "LTBCOIN=5&op_0=",
        "LTBCOIN=5&stackop_1",
        "LTBCOIN=%",
    ],
)
def test_refused(text: str) -> None:
    error = error_for(text)
    assert error.message
    assert str(error)


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("ltbcoin=10000", [Clause("LTBCOIN", 10**12)]),
        ("BTC=0.5&xcp=1", [Clause("BTC", 50_000_000), Clause("XCP", 10**8)]),
        ("a12345=1", [Clause("A12345", 10**8)]),
        ("pepe.Rare-1=2", [Clause("PEPE.Rare-1", 2 * 10**8)]),
        ("A95428956661682177.sub=1", [Clause("A95428956661682177.sub", 10**8)]),
        ("LTBCOIN=0.00000001&op_0=%3E%3D", [Clause("LTBCOIN", 1)]),
        ("LTBCOIN=5&OP_0=<&stackOp_0=or", [Clause("LTBCOIN", 5 * 10**8, Op.LT)]),
        ("LTBCOIN=5&op_0=!", [Clause("LTBCOIN", 5 * 10**8, Op.NE)]),
        ("LTBCOIN=5&op_00==", [Clause("LTBCOIN", 5 * 10**8, Op.EQ)]),
        ("LTBCOIN=5&op_0000000000000=>", [Clause("LTBCOIN", 5 * 10**8, Op.GT)]),
        ("LTBCOIN=123456789012.12345678", [Clause("LTBCOIN", 12345678901212345678)]),
    ],
)
def test_accepted(text: str, clauses: list[Clause]) -> None:
    assert list(compile_rule(text).clauses) == clauses


def test_case_spellings_of_one_asset_are_separate_clauses() -> None:
    rule = compile_rule("LTBCOIN=10&TOKENLY=1&ltbcoin=20&stackop_2=OR")
    assert rule.groups == (
        (Clause("LTBCOIN", 10 * 10**8), Clause("TOKENLY", 10**8)),
        (Clause("LTBCOIN", 20 * 10**8),),
    )


def test_mappings_and_pairs_read_like_the_query_form() -> None:
    text = compile_rule("TOKENLY=1&LTBCOIN=100000&stackop_1=OR")
    assert compile_rule({"TOKENLY": 1, "LTBCOIN": 100000, "stackop_1": "OR"}) == text
    pairs = [("TOKENLY", "1"), ("LTBCOIN", Decimal("100000")), ("stackop_1", "OR")]
    assert compile_rule(pairs) == text
    assert compile_rule({"TOKENLY": Decimal("0.5")}).clauses == (Clause("TOKENLY", 50_000_000),)


@pytest.mark.parametrize(
    ("mapping", "fragment"),
    [
        ({"TOKENLY": 1.5}, "floats are inexact"),
        ({"TOKENLY": True}, "not bool"),
        ({"TOKENLY": None}, "not NoneType"),
        ({"TOKENLY": Decimal("NaN")}, "not a number"),
        ({1: "5"}, "rule keys must be str"),
        ({"TOKENLY": "1", "oauth_token": "x"}, "credential"),
        ({}, "empty"),
    ],
)
def test_bad_mappings_are_refused_clearly(mapping: dict[object, object], fragment: str) -> None:
    assert fragment in str(error_for(mapping))


def test_bad_pair_lists_are_refused() -> None:
    assert "(key, value) pairs" in str(error_for([("TOKENLY", "1", "x")]))
    with pytest.raises(TypeError, match="not bytes"):
        compile_rule(b"TOKENLY=1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not int"):
        compile_rule(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dialect"):
        compile_rule("TOKENLY=1", dialect="php")  # type: ignore[arg-type]


def test_mapping_errors_point_into_a_rendering_of_the_mapping() -> None:
    error = error_for({"TOKENLY": "1", "stackop_1": "XOR"})
    assert error.text == "TOKENLY=1&stackop_1=XOR"
    assert error.position == error.text.index("XOR")


def test_long_lines_are_shown_as_a_window_around_the_problem() -> None:
    text = "&".join(f"A{i}=1" for i in range(200)) + "&LTB=1"
    rendered = str(error_for(text)).splitlines()
    assert len(rendered[1]) < 90
    assert "LTB" in rendered[1]
    assert rendered[1][rendered[2].index("^") : rendered[2].index("^") + 3] == "LTB"


@pytest.mark.parametrize(
    "rule",
    [
        "LTBCOIN=1&op_" + "9" * 5000 + "=<",
        "LTBCOIN=1&stackop_" + "9" * 5000 + "=OR",
        {"LTBCOIN": 10**5000},
        {"LTBCOIN": Decimal("1e100000000000")},
        {"LTBCOIN": Decimal("1e-100000000000")},
        {"LTBCOIN": Decimal("-1")},
        "LTBCOIN=" + "9" * 5000,
        "L" * 100_000 + "=1",
    ],
    ids=[
        "op-index",
        "stackop-index",
        "int",
        "decimal-big",
        "decimal-small",
        "negative",
        "digits",
        "key",
    ],
)
def test_absurd_input_is_a_short_rule_syntax_error(rule: object) -> None:
    error = error_for(rule)
    assert len(error.message) < 300


def test_decimal_amounts_do_not_depend_on_what_was_compiled_before() -> None:
    assert compile_rule({"LTBCOIN": Decimal("1")}).clauses == (Clause("LTBCOIN", 10**8),)
    assert compile_rule({"LTBCOIN": Decimal("1.000000000")}).clauses == (Clause("LTBCOIN", 10**8),)
    assert compile_rule({"LTBCOIN": Decimal("-0")}).clauses == (Clause("LTBCOIN", 0),)
    with pytest.raises(RuleSyntaxError, match="8 decimal places"):
        compile_rule({"LTBCOIN": Decimal("1.000000001")})


def test_one_word_credentials_count_only_in_lower_case() -> None:
    for asset in ("SECRET", "STATE", "CODE", "SCOPE", "NONCE", "USERNAME", "PASSWORD"):
        assert compile_rule(f"{asset}=1").clauses == (Clause(asset, 10**8),)
        assert "credential" in str(error_for(f"{asset.lower()}=1"))
        assert "credential" in str(error_for(f"{asset.lower()} >= 1"))
    assert "credential" in str(error_for("OAUTH_TOKEN=abc&LTBCOIN=1"))


@pytest.mark.parametrize("key", ["\u017ftackop_1", "stac\u212aop_1", "\u1d0fp_0"])
def test_operator_keys_are_ascii_only(key: str) -> None:
    assert "not an asset name" in str(error_for(f"LTBCOIN=1&TOKENLY=1&{key}=OR"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("LTBCOIN=0.000000001", "more than 8 decimal places"),
        ("LTBCOIN=1.", "a decimal point needs digits after it"),
        ("LTBCOIN >= 0.000000001", "more than 8 decimal places"),
        ("LTBCOIN=5\n", "which has spaces"),
        ("LTBCOIN=" + "1" * 41, "more than 40 digits"),
    ],
)
def test_amount_messages_say_what_is_wrong(text: str, message: str) -> None:
    assert message in str(error_for(text))


def test_the_api_documents_missing_ampersand_gets_a_hint() -> None:
    error = error_for("LTBCOIN=10000&LTBSTAFF=1&op_0=>stackop_1=OR")
    assert error.hint == "a '&' seems to be missing before stackop_1"


def test_messages_echo_only_the_start_of_long_input() -> None:
    key = "X" * 100_000
    assert len(str(error_for(f"LTBCOIN=1&{key}=1"))) < 500
    assert len(str(error_for(f"LTBCOIN={key}"))) < 500


def test_op_and_stackop_without_an_index_get_a_hint() -> None:
    assert "stackop_N" in (error_for("LTBCOIN=10000&LTBSTAFF=1&stackop=OR").hint or "")
    assert (error_for("LTBCOIN=10000&op=<").hint or "").startswith("did you mean op_")


def test_a_repeated_operator_key_gets_no_advice_about_asset_spellings() -> None:
    assert error_for("LTBCOIN=1&TOKENLY=1&stackop_1=OR&stackop_1=OR").hint is None
