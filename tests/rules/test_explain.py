"""Decisions: per-clause figures, the closest group, and a sentence a person can act on."""

from __future__ import annotations

import json

import pytest

from tca_gate import Decision, compile_rule

T = 100_000_000


def test_the_issue_example_sentence() -> None:
    rule = compile_rule("LTBCOIN >= 10000 or TOKENLY >= 1")
    decision = rule.explain({"LTBCOIN": 8_800 * T})
    assert decision.summary == "Needs 1,200 more LTBCOIN, or 1 TOKENLY."
    assert not decision
    assert decision.allowed is False


def test_every_clause_and_group_is_reported() -> None:
    rule = compile_rule("LTBCOIN=10000&LTBSTAFF=1&TOKENLY=1&stackop_2=OR")
    decision = rule.explain({"LTBCOIN": 10_000 * T})
    assert [g.passed for g in decision.groups] == [False, False]
    first = decision.groups[0].clauses
    assert [(c.asset, c.op, c.required, c.actual, c.passed, c.shortfall) for c in first] == [
        ("LTBCOIN", ">=", 10_000 * T, 10_000 * T, True, 0),
        ("LTBSTAFF", ">=", T, 0, False, T),
    ]
    assert decision.closest == 0
    assert decision.summary == "Needs 1 LTBSTAFF, or 1 TOKENLY."


def test_closest_group_has_the_fewest_failing_clauses() -> None:
    rule = compile_rule("AAAA >= 1 and BBBB >= 1 and CCCC >= 1 or DDDD >= 5 and EEEE >= 5")
    decision = rule.explain({"AAAA": T, "DDDD": 5 * T})
    assert decision.closest == 1
    assert decision.summary == "Needs 5 EEEE, or 1 BBBB and 1 CCCC."


def test_allowed_decision_says_what_was_held() -> None:
    decision = compile_rule("LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR").explain({"LTBSTAFF": T})
    assert decision
    assert decision.summary == "Allowed: holds at least 1 LTBSTAFF."
    assert decision.closest == 1


@pytest.mark.parametrize(
    ("rule", "balance", "need", "shortfall"),
    [
        ("LTBCOIN > 10", 10 * T, "more than 10 LTBCOIN (holds 10)", 1),
        ("LTBCOIN == 10", 12 * T, "exactly 10 LTBCOIN (holds 12)", -2 * T),
        ("LTBCOIN != 10", 10 * T, "any amount of LTBCOIN but exactly 10", 1),
        ("LTBCOIN < 10", 0, "some LTBCOIN, but less than 10", 1),
        ("LTBCOIN < 10", 15 * T, "less than 10 LTBCOIN (holds 15)", -(5 * T + 1)),
        ("LTBCOIN <= 10", 15 * T, "at most 10 LTBCOIN (holds 15)", -5 * T),
        ("LTBCOIN >= 0.5", 25_000_000, "0.25 more LTBCOIN", 25_000_000),
        ("LTBCOIN >= 1", -2 * T, "3 more LTBCOIN", 3 * T),
    ],
)
def test_needs_read_naturally_for_every_operator(
    rule: str, balance: int, need: str, shortfall: int
) -> None:
    decision = compile_rule(rule).explain({"LTBCOIN": balance})
    (clause,) = decision.clauses
    assert clause.need() == need
    assert clause.shortfall == shortfall
    assert decision.summary == f"Needs {need}."


def test_impossible_groups_are_not_offered() -> None:
    rule = compile_rule("LTBCOIN < 0.00000001 or TOKENLY >= 1")
    decision = rule.explain({})
    assert decision.summary == "Needs 1 TOKENLY."
    assert decision.closest == 1
    only_impossible = compile_rule("LTBCOIN=0&op_0=<=").explain({})
    assert only_impossible.summary == "Denied: no holdings can satisfy this rule."


def test_many_alternatives_are_summarised() -> None:
    rule = compile_rule(" or ".join(f"A{i} >= {i + 1}" for i in range(6)))
    assert rule.explain({}).summary == "Needs 1 A0, or 2 A1, or 3 A2, or one of 3 other ways."


def test_decision_serialises_to_json() -> None:
    rule = compile_rule("LTBCOIN=10000&TOKENLY=1&stackop_1=OR")
    decision = rule.explain({"LTBCOIN": 8_800 * T})
    data = json.loads(decision.to_json())
    assert list(data) == ["version", "allowed", "summary", "rule", "rule_hash", "closest", "groups"]
    assert data["version"] == 1
    assert data["allowed"] is False
    assert data["summary"] == decision.summary
    assert data["rule"] == "LTBCOIN >= 10000 or TOKENLY >= 1"
    assert data["rule_hash"] == rule.semantic_hash
    assert data["closest"] == 0
    assert list(data["groups"][0]) == ["index", "passed", "possible", "clauses"]
    assert data["groups"][0]["clauses"][0] == {
        "asset": "LTBCOIN",
        "op": ">=",
        "required": str(10_000 * T),
        "actual": str(8_800 * T),
        "passed": False,
        "shortfall": str(1_200 * T),
    }
    assert isinstance(decision, Decision)


def test_json_amounts_are_exact_strings_even_past_javascript_numbers() -> None:
    huge = compile_rule("A=1e400", dialect="tokenpass").explain({"A": 2**60})
    (clause,) = huge.to_dict()["groups"][0]["clauses"]
    assert (clause["required"], clause["actual"], clause["shortfall"]) == (
        "infinity",
        str(2**60),
        None,
    )


def test_a_self_contradicting_group_is_not_offered() -> None:
    rule = compile_rule("LTBCOIN > 10 and LTBCOIN < 5 or TOKENLY >= 1 and LTBSTAFF >= 1")
    decision = rule.explain({"LTBCOIN": 20 * T})
    assert [g.possible for g in decision.groups] == [False, True]
    assert decision.closest == 1
    assert decision.summary == "Needs 1 TOKENLY and 1 LTBSTAFF."


def test_needs_on_one_asset_are_merged() -> None:
    decision = compile_rule("LTBCOIN >= 1 and LTBCOIN >= 2").explain({"LTBCOIN": T // 2})
    assert decision.summary == "Needs 1.5 more LTBCOIN."


def test_an_infinite_amount_cannot_be_met() -> None:
    decision = compile_rule("LTBCOIN=1e400", dialect="tokenpass").explain({"LTBCOIN": 10**30})
    assert decision.clauses[0].shortfall is None
    assert decision.summary == "Denied: no holdings can satisfy this rule."


@pytest.mark.parametrize(
    ("rule", "balance", "summary"),
    [
        ("LTBCOIN >= 10 and LTBCOIN != 10", 0, "Needs 10.00000001 LTBCOIN."),
        ("LTBCOIN >= 10 and LTBCOIN != 10", 10 * T, "Needs 0.00000001 more LTBCOIN."),
        ("LTBCOIN < 10 and LTBCOIN >= 2", 20 * T, "Needs less than 10 LTBCOIN (holds 20)."),
        ("LTBCOIN > 5 and LTBCOIN <= 9", 5 * T, "Needs more than 5 LTBCOIN (holds 5)."),
        ("LTBCOIN == 5 and LTBCOIN >= 1", 0, "Needs exactly 5 LTBCOIN (holds 0)."),
        ("LTBCOIN < 10 and LTBCOIN != 5", 0, "Needs some LTBCOIN, but less than 10."),
        ("LTBCOIN != 5 and LTBCOIN <= 9", 5 * T, "Needs any amount of LTBCOIN but exactly 5."),
    ],
)
def test_advice_for_several_clauses_on_one_asset_is_enough_on_its_own(
    rule: str, balance: int, summary: str
) -> None:
    compiled = compile_rule(rule)
    decision = compiled.explain({"LTBCOIN": balance})
    assert decision.summary == summary


def test_infinite_amounts_read_as_infinity() -> None:
    rule = compile_rule("A=1e400&op_0=<", dialect="tokenpass")
    assert rule.explain({}).summary == "Needs some A, but less than infinity."
