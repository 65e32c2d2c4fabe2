"""The spec's worked examples and the tokenpass quirks (tests/fixtures/spec_examples.toml)."""

from __future__ import annotations

from typing import Any

import pytest

from tca_gate import Dialect, Op, compile_rule, tokens_to_sat
from tests.support.data import load_toml

SPEC = load_toml("spec_examples.toml")


def _sat(balances: dict[str, Any]) -> dict[str, int]:
    return {asset: tokens_to_sat(str(amount)) for asset, amount in balances.items()}


@pytest.mark.parametrize("example", SPEC["example"], ids=lambda e: e["rule"])
@pytest.mark.parametrize("dialect", ["strict", "tokenpass"])
def test_worked_example(example: dict[str, Any], dialect: Dialect) -> None:
    rule = compile_rule(example["rule"], dialect=dialect)
    balances = _sat(example["balances"])
    expected = example["expect"] == "allow"
    assert rule.evaluate(balances) is expected
    assert rule.explain(balances).allowed is expected


@pytest.mark.parametrize("quirk", SPEC["tokenpass"], ids=lambda q: q["rule"] or "(empty)")
def test_tokenpass_reads_as_the_server_did(quirk: dict[str, Any]) -> None:
    rule = compile_rule(quirk["rule"], dialect="tokenpass")
    assert [[c.asset, c.op.value, c.amount] for c in rule.clauses] == quirk["clauses"]
    assert [len(group) for group in rule.groups] == quirk["groups"]


def test_documented_camelcase_stackop_differs_between_dialects() -> None:
    text = "LTBCOIN=10000&stackOp_1=OR&LTBSTAFF=1"
    staff_only = {"LTBSTAFF": 100_000_000}
    assert compile_rule(text, dialect="tokenpass").evaluate(staff_only) is False
    assert compile_rule(text).evaluate(staff_only) is True  # strict: stackop_1 applies to clause 1
    assert [w.code for w in compile_rule(text).lint()] == ["dialect-mismatch"]


def test_unknown_operator_never_passes() -> None:
    rule = compile_rule("LTBCOIN=0&op_0=>stackop_1=OR", dialect="tokenpass")
    assert rule.clauses[0].op is Op.UNKNOWN
    assert rule.evaluate({"LTBCOIN": 10**20}) is False


def test_empty_rule_denies() -> None:
    rule = compile_rule("", dialect="tokenpass")
    assert rule.groups == ()
    assert rule.evaluate({"LTBCOIN": 1}) is False
    decision = rule.explain({})
    assert decision.allowed is False
    assert "no clauses" in decision.summary
