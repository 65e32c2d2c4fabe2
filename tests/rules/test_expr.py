"""Readable expressions: precedence, parentheses expansion and its bound, clear errors."""

from __future__ import annotations

import re

import pytest

from tca_gate import Clause, Op, RuleSyntaxError, compile_rule

T = 100_000_000


def test_and_binds_tighter_than_or_like_the_stack() -> None:
    expr = compile_rule("LTBCOIN >= 10000 and LTBSTAFF >= 1 or TOKENLY > 0")
    stack = compile_rule("LTBCOIN=10000&LTBSTAFF=1&TOKENLY=0&op_2=>&stackop_2=OR")
    assert expr == stack
    assert expr.groups == (
        (Clause("LTBCOIN", 10000 * T), Clause("LTBSTAFF", T)),
        (Clause("TOKENLY", 0, Op.GT),),
    )


@pytest.mark.parametrize(
    "text",
    [
        "LTBCOIN>=1 AND TOKENLY<2",
        "LTBCOIN >= 1 && TOKENLY < 2",
        "LTBCOIN>=1&&TOKENLY<2",
        "  LTBCOIN >= 1\n  and TOKENLY < 2  ",
        "(LTBCOIN >= 1) and ((TOKENLY < 2))",
    ],
)
def test_spelling_variants(text: str) -> None:
    assert compile_rule(text).groups == ((Clause("LTBCOIN", T), Clause("TOKENLY", 2 * T, Op.LT)),)


def test_parentheses_expand_to_or_of_ands() -> None:
    rule = compile_rule("(AAAA >= 1 or BBBB >= 1) and (CCCC >= 1 or DDDD >= 1)")
    assert [[c.asset for c in group] for group in rule.groups] == [
        ["AAAA", "CCCC"],
        ["AAAA", "DDDD"],
        ["BBBB", "CCCC"],
        ["BBBB", "DDDD"],
    ]
    for holdings, allowed in [({"AAAA", "DDDD"}, True), ({"AAAA", "BBBB"}, False)]:
        assert rule.evaluate(dict.fromkeys(holdings, T)) is allowed


def test_expansion_past_the_bound_is_a_clear_error() -> None:
    factor = "(" + " or ".join(f"A{i} >= 1" for i in range(10)) + ")"
    with pytest.raises(RuleSyntaxError, match="the limit is 10,000") as caught:
        compile_rule(" and ".join([factor] * 5))
    assert caught.value.hint is not None


def test_a_long_flat_expression_is_not_limited_by_the_expansion_bound() -> None:
    text = " and ".join(f"A{i} >= 1" for i in range(12_000))
    assert len(compile_rule(text).clauses) == 12_000


def test_ten_thousand_nested_parentheses() -> None:
    rule = compile_rule("(" * 10_000 + "LTBCOIN >= 1" + ")" * 10_000)
    assert rule.clauses == (Clause("LTBCOIN", T),)
    with pytest.raises(RuleSyntaxError):
        compile_rule("(" * 10_000 + "LTBCOIN >= 1" + ")" * 9_999)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("LTBCOIN >= ", 11, "unexpected end of the rule"),
        ("LTBCOIN >= 1 and", 16, "unexpected end of the rule"),
        ("LTBCOIN", 7, "unexpected end of the rule"),
        ("LTBCOIN >= 1 LTBSTAFF > 1", 13, "unexpected 'LTBSTAFF'"),
        ("LTBCOIN >= 1 TOKENLY >= 1", 13, "unexpected"),
        ("LTB >= 1", 0, "4 to 12 letters"),
        ("LTBCOIN => 1", 8, "not an operator"),
        ("LTBCOIN >= 1,5", 11, "digit separators"),
        ("LTBCOIN >= -1", 11, "no sign"),
        ("(LTBCOIN >= 1", 13, "unexpected end of the rule"),
        ("LTBCOIN >= 1)", 12, "unexpected ')'"),
        ("oauth_token >= 1 and LTBCOIN >= 1", 0, "credential"),
        ("LTBCOIN >= 1 or # TOKENLY", 16, "unexpected"),
    ],
)
def test_expression_errors_say_where(text: str, position: int, fragment: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        compile_rule(text)
    error = caught.value
    assert error.position == position
    assert fragment in str(error)
    assert error.text == text


def test_a_bare_asset_name_is_not_a_rule() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        compile_rule("LTBCOIN or TOKENLY >= 1")
    assert any("operator" in item for item in caught.value.expected)


def test_tokenpass_dialect_reads_only_query_strings() -> None:
    rule = compile_rule("LTBCOIN >= 1", dialect="tokenpass")
    assert rule.clauses == (Clause("LTBCOIN_>", T),)  # PHP: space in a key becomes "_"


def test_or_spelled_with_bars_needs_no_spaces() -> None:
    assert compile_rule("LTBCOIN>=5||TOKENLY>=1") == compile_rule("LTBCOIN >= 5 or TOKENLY >= 1")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("LTBCOIN=5&&", "empty entry"),
        ("BTC.x >= 1", "BTC has no subassets"),
        ("XCP.foo=1", "XCP has no subassets"),
        ("PEPE..x=1", "has no '..' and does not end with '.'"),
        ("PEPE.x.=1", "has no '..' and does not end with '.'"),
    ],
)
def test_more_precise_messages(text: str, fragment: str) -> None:
    with pytest.raises(RuleSyntaxError, match=re.escape(fragment)):
        compile_rule(text)


@pytest.mark.parametrize(
    ("text", "word", "position"),
    [
        ("LTBCOIN >= 10000 or or TOKENLY > 1", "or", 20),
        ("LTBCOIN >= 10 and not TOKENLY > 1", "not", 18),
    ],
)
def test_a_keyword_where_a_comparison_belongs_is_named(text: str, word: str, position: int) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        compile_rule(text)
    assert caught.value.position == position
    assert caught.value.message.startswith(f"unexpected {word!r}: a comparison")
