"""Canonical text: to_query / to_expr round-trip, and the semantic hash."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tca_gate import Clause, Op, Rule, RuleFormatError, compile_rule
from tca_gate.rules._format import _spellings

ASSETS = ["LTBCOIN", "TOKENLY", "BTC", "A12345", "PEPE.Rare", "XCP"]
STRICT_OPS = [op for op in Op if op is not Op.UNKNOWN]
clauses = st.builds(
    Clause,
    asset=st.sampled_from(ASSETS),
    amount=st.integers(0, 10**20),
    op=st.sampled_from(STRICT_OPS),
)
rules = st.lists(st.lists(clauses, min_size=1, max_size=4), min_size=1, max_size=4).map(Rule)


def spellable(rule: Rule) -> bool:
    """Whether a query string can spell every repeat apart (A12345 has only two spellings)."""
    repeats = Counter(c.asset for c in rule.clauses)
    return all(len(list(_spellings(asset))) >= count for asset, count in repeats.items())


@given(rules)
def test_query_text_round_trips(rule: Rule) -> None:
    if not spellable(rule):
        with pytest.raises(RuleFormatError, match="spell apart"):
            rule.to_query()
        return
    assert compile_rule(rule.to_query()) == rule
    assert compile_rule(rule.to_pairs()) == rule


@given(rules)
def test_expression_text_round_trips(rule: Rule) -> None:
    assert compile_rule(rule.to_expr()) == rule


@given(rules.filter(spellable))
def test_canonical_text_is_a_fixed_point(rule: Rule) -> None:
    query = rule.to_query()
    assert compile_rule(query).to_query() == query
    assert compile_rule(rule.to_expr()).to_expr() == rule.to_expr()


def test_canonical_forms() -> None:
    rule = compile_rule("ltbcoin=10000.50&LTBSTAFF=1&op_1==&stackOp_1=or")
    assert rule.to_query() == "LTBCOIN=10000.5&LTBSTAFF=1&op_1===&stackop_1=OR"
    assert rule.to_expr() == "LTBCOIN >= 10000.5 or LTBSTAFF == 1"
    assert rule.to_pairs()[-1] == ("stackop_1", "OR")
    assert str(rule) == rule.to_expr()
    assert repr(rule) == "Rule('LTBCOIN >= 10000.5 or LTBSTAFF == 1')"


def test_repeated_assets_get_distinct_spellings() -> None:
    rule = compile_rule("(LTBCOIN >= 1 or BTC >= 1) and (LTBCOIN >= 5 or TOKENLY >= 1)")
    assert rule.to_query() == (
        "LTBCOIN=1&ltbcoin=5&lTBCOIN=1&TOKENLY=1&BTC=1&LtBCOIN=5&btc=1&tokenly=1"
        "&stackop_2=OR&stackop_4=OR&stackop_6=OR"
    )
    assert compile_rule(rule.to_query()) == rule


def test_numeric_assets_run_out_of_spellings_clearly() -> None:
    rule = Rule([[Clause("A12345", 1)], [Clause("A12345", 2)], [Clause("A12345", 3)]])
    with pytest.raises(RuleFormatError, match="to_expr"):
        rule.to_query()
    assert compile_rule(rule.to_expr()) == rule


@pytest.mark.parametrize(
    "text",
    ["LTBCOIN=10000&stackOp_1=OR", "A=5", "LTBCOIN=1&op_0=~", "LTBCOIN=-1", "LTBCOIN=1e400"],
)
def test_rules_strict_text_cannot_write_say_why(text: str) -> None:
    rule = compile_rule(text, dialect="tokenpass")
    with pytest.raises(RuleFormatError):
        rule.to_expr()
    with pytest.raises(RuleFormatError):
        rule.to_query()
    assert repr(rule).startswith("Rule(")


def test_empty_rule_has_no_text_form() -> None:
    with pytest.raises(RuleFormatError, match="no clauses"):
        Rule([]).to_query()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("LTBCOIN=10&TOKENLY=1", "TOKENLY >= 1 and LTBCOIN >= 10"),
        ("LTBCOIN=10&TOKENLY=1&stackop_1=OR", "TOKENLY >= 1 or LTBCOIN >= 10"),
        ("LTBCOIN=10&op_0=>", "LTBCOIN >= 10.00000001"),
        ("LTBCOIN=10&op_0=!", "LTBCOIN != 10"),
        ("LTBCOIN=10&op_0==", "LTBCOIN == 10 and LTBCOIN >= 1"),
        ("LTBCOIN >= 10", "LTBCOIN >= 10 and LTBCOIN >= 5"),
        ("LTBCOIN >= 10", "LTBCOIN >= 10 or LTBCOIN >= 20 and TOKENLY >= 1"),
        ("LTBCOIN >= 10", "LTBCOIN >= 10 or LTBCOIN > 10 and LTBCOIN < 5"),
        ("LTBCOIN < 3", "LTBCOIN <= 2.99999999"),
        ("LTBCOIN < 3 and LTBCOIN != 0.00000001", "LTBCOIN <= 2.99999999 and LTBCOIN > 0.00000001"),
    ],
)
def test_equivalent_rules_share_a_semantic_hash(first: str, second: str) -> None:
    assert compile_rule(first).semantic_hash == compile_rule(second).semantic_hash


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("LTBCOIN=10", "LTBCOIN=10.00000001"),
        ("LTBCOIN=10&TOKENLY=1", "LTBCOIN=10&TOKENLY=1&stackop_1=OR"),
        ("LTBCOIN >= 10", "LTBCOIN > 10"),
        ("LTBCOIN < 10", "LTBCOIN <= 10"),
        ("LTBCOIN >= 0", "TOKENLY >= 0"),
    ],
)
def test_different_rules_have_different_hashes(first: str, second: str) -> None:
    assert compile_rule(first).semantic_hash != compile_rule(second).semantic_hash


def test_semantic_hash_shape() -> None:
    rule = compile_rule("LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR")
    assert rule.semantic_hash.startswith("tca1:")
    assert len(rule.semantic_hash) == 37
    assert rule.semantic_hash == compile_rule("LTBSTAFF >= 1 or LTBCOIN >= 10000").semantic_hash


def test_rules_strict_text_cannot_write_still_have_a_readable_label() -> None:
    text = "LTBCOIN=10000&LTBSTAFF=1&op_0=>stackop_1=OR&X=1e400&Y=-5"
    rule = compile_rule(text, dialect="tokenpass")
    assert str(rule) == (
        "LTBCOIN <unknown operator> 10000 and LTBSTAFF >= 1 and X >= infinity and Y >= -5"
    )
    assert rule.explain({}).rule == str(rule)
    assert repr(Rule([])) == "Rule('(no clauses: denies everyone)')"


@pytest.mark.parametrize(
    "text",
    [
        "PEPE.a! >= 5",
        "PEPE.x!y >= 1",
        "STACKOP >= 1 and STACKOP >= 2",
        "SECRET >= 1 or SECRET >= 2 or SECRET >= 3",
        "CODE >= 1 and CODE <= 9",
    ],
)
def test_to_query_never_changes_what_a_rule_means(text: str) -> None:
    rule = compile_rule(text)
    query = rule.to_query()
    assert compile_rule(query) == rule
    if "." not in text:  # Tokenpass cannot name subassets at all
        assert compile_rule(query, dialect="tokenpass") == rule


def test_semantic_hash_is_pinned() -> None:
    """Hashes key caches and audit logs, so they must not drift between releases."""
    rule = compile_rule("LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR")
    assert rule.semantic_hash == PINNED_HASH


def test_equal_hashes_mean_equal_decisions() -> None:
    rules = [
        compile_rule(text)
        for text in [
            "LTBCOIN >= 4",
            "LTBCOIN > 3.99999999",
            "LTBCOIN == 4 or LTBCOIN > 4",
            "LTBCOIN >= 4 and LTBCOIN != 3",
            "LTBCOIN <= 4",
            "LTBCOIN < 4.00000001",
        ]
    ]
    sheets = [{"LTBCOIN": sat} for sat in range(-2, 3)] + [
        {"LTBCOIN": 4 * 10**8 + delta} for delta in range(-2, 3)
    ]
    for a in rules:
        for b in rules:
            if a.semantic_hash == b.semantic_hash:
                assert [a.evaluate(s) for s in sheets] == [b.evaluate(s) for s in sheets]


PINNED_HASH = "tca1:97309d766c2bd88ef40629b10286f6cd"
