"""``audit`` decides exactly as ``Rule.evaluate`` does, holder by holder, on exact integers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tca_gate import Clause, InvalidBalancesError, Op, Rule, RuleSyntaxError
from tca_gate.audit import Holdings, audit
from tca_gate.errors import InvalidArgumentError

ASSETS = ["AAAA", "BBBB", "CCCC", "DDDD"]
INT64_MAX = 2**63 - 1
#: Small values meet every operator's edges (0, ±1, equal); the rest lie on and past int64's.
EDGES = [INT64_MAX, INT64_MAX + 1, -(2**63), -(2**63) - 1, 2**1024, -(2**1024), 10**30]
amounts = st.one_of(st.integers(-4, 4), st.sampled_from(EDGES))
balances = st.one_of(st.integers(-5, 5), st.integers(-5, 5), st.sampled_from(EDGES))
clauses = st.builds(
    Clause, asset=st.sampled_from(ASSETS), amount=amounts, op=st.sampled_from(list(Op))
)
rules = st.builds(Rule, st.lists(st.lists(clauses, min_size=1, max_size=4), max_size=4))
sheets = st.dictionaries(st.sampled_from(ASSETS), balances, max_size=len(ASSETS))
holdings = st.dictionaries(st.text("abcxyz", min_size=1, max_size=4), sheets, max_size=12)


@settings(max_examples=300, deadline=None)  # decisions, not timing: a busy machine is slow
@given(st.lists(rules, max_size=5), holdings)
def test_audit_decides_as_rule_evaluate_for_every_holder(
    rule_list: list[Rule], sheets_by_holder: dict[str, dict[str, int]]
) -> None:
    named = {f"r{index}": rule for index, rule in enumerate(rule_list)}
    result = audit(named, Holdings(sheets_by_holder))
    for name, rule in named.items():
        expected = [rule.evaluate(sheet) for sheet in sheets_by_holder.values()]
        assert result.mask(name).tolist() == expected
        assert result.passed(name) == tuple(
            holder for holder, sheet in sheets_by_holder.items() if rule.evaluate(sheet)
        )
        assert result.count(name) == sum(expected)
        for holder, decision in result.shortfalls(name).items():
            assert decision == rule.explain(sheets_by_holder[holder])
            assert not decision.allowed


@settings(max_examples=100, deadline=None)
@given(st.lists(rules, min_size=1, max_size=3), holdings)
def test_columns_decide_as_the_mapping_does(
    rule_list: list[Rule], sheets_by_holder: dict[str, dict[str, int]]
) -> None:
    fits = {
        holder: {a: v for a, v in sheet.items() if -(2**63) <= v <= INT64_MAX}
        for holder, sheet in sheets_by_holder.items()
    }
    columns = {
        asset: np.array([sheet.get(asset, 0) for sheet in fits.values()], dtype=np.int64)
        for asset in ASSETS
    }
    named = {f"r{index}": rule for index, rule in enumerate(rule_list)}
    by_columns = audit(named, Holdings.from_columns(list(fits), columns))
    by_mapping = audit(named, Holdings(fits))
    for name in named:
        assert by_columns.passed(name) == by_mapping.passed(name)


def test_the_less_than_quirk_needs_a_positive_balance() -> None:
    sheets = {
        "none": {},
        "zero": {"XXXX": 0},
        "one": {"XXXX": 1},
        "nine": {"XXXX": 9},
        "ten": {"XXXX": 10},
    }
    result = audit(
        {"lt": Rule([[Clause("XXXX", 10, "<")]]), "le": "XXXX <= 0.0000001"}, Holdings(sheets)
    )
    assert result.passed("lt") == ("one", "nine")
    assert result.passed("le") == ("one", "nine", "ten")


def test_or_groups_and_shared_clauses() -> None:
    sheets = {"a": {"XXXX": 5}, "b": {"YYYY": 1}, "c": {"XXXX": 5, "YYYY": 1}, "d": {}}
    result = audit(
        {"either": "XXXX >= 0.00000005 or YYYY > 0", "both": "XXXX >= 0.00000005 and YYYY > 0"},
        Holdings(sheets),
    )
    assert result.passed("either") == ("a", "b", "c")
    assert result.passed("both") == ("c",)
    assert result.to_dict() == {
        "rules": {
            "either": {"passed": 3, "holders": ["a", "b", "c"]},
            "both": {"passed": 1, "holders": ["c"]},
        },
        "holders": 4,
    }


def test_shortfalls_say_what_each_refused_holder_lacks() -> None:
    result = audit({"whale": "LTBCOIN >= 10"}, Holdings({"a": {"LTBCOIN": 4 * 10**8}, "b": {}}))
    assert {h: d.summary for h, d in result.shortfalls("whale").items()} == {
        "a": "Needs 6 more LTBCOIN.",
        "b": "Needs 10 LTBCOIN.",
    }


def test_no_holders_and_no_rules() -> None:
    empty = audit({"r": "XXXX > 0", "never": Rule([])}, Holdings({}))
    assert empty.passed("r") == ()
    assert empty.count("never") == 0
    assert empty.to_dict() == {
        "rules": {"r": {"passed": 0, "holders": []}, "never": {"passed": 0, "holders": []}},
        "holders": 0,
    }
    assert audit({}, Holdings({"a": {"XXXX": 1}})).to_dict() == {"rules": {}, "holders": 1}
    assert audit({"never": Rule([])}, Holdings({"a": {"XXXX": 1}})).passed("never") == ()


def test_huge_amounts_are_exact_never_wrapped() -> None:
    big = 2**64 + 1  # wraps to 1 in 64 bits: a wrapped column would let "small" pass
    sheets = {"big": {"XXXX": big}, "small": {"XXXX": 1}, "max": {"XXXX": INT64_MAX}}
    holdings = Holdings(sheets)
    assert holdings.column("XXXX").dtype == object
    rules = {
        "over": Rule([[Clause("XXXX", 2**64, ">")]]),
        "exact": Rule([[Clause("XXXX", big, "==")]]),
    }
    result = audit(rules, holdings)
    assert result.passed("over") == ("big",)
    assert result.passed("exact") == ("big",)
    assert result.explain("exact", "big").allowed
    fits = Holdings({"max": {"XXXX": INT64_MAX}})
    assert fits.column("XXXX").dtype == np.int64
    assert audit(rules, fits).passed("over") == ()
    past_int64 = {"over": Rule([[Clause("XXXX", INT64_MAX, ">")]])}
    unsigned = np.array([2**64 - 1, INT64_MAX], dtype=np.uint64)
    by_columns = Holdings.from_columns(["u", "max"], {"XXXX": unsigned})
    assert audit(past_int64, by_columns).passed("over") == ("u",)


@pytest.mark.parametrize(
    ("sheets", "message"),
    [
        ({"alice": {"XXXX": 1.0}}, "XXXX of holder 'alice' must be an int.*float"),
        ({"alice": {"XXXX": True}}, "XXXX of holder 'alice' must be an int.*bool"),
        ({"alice": {"XXXX": "5"}}, "XXXX of holder 'alice' must be an int.*str"),
        ({"alice": [("XXXX", 1)]}, "balances of holder 'alice' must be a mapping"),
    ],
)
def test_balances_that_are_not_ints_are_refused_naming_holder_and_asset(
    sheets: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidBalancesError, match=message):
        Holdings(sheets)  # type: ignore[arg-type]


def test_columns_that_are_not_integers_are_refused() -> None:
    with pytest.raises(InvalidBalancesError, match=r"XXXX must be an integer array.*float64"):
        Holdings.from_columns(["a"], {"XXXX": np.array([1.0])})
    with pytest.raises(InvalidBalancesError, match=r"XXXX must be an integer array.*bool"):
        Holdings.from_columns(["a"], {"XXXX": np.array([True])})
    with pytest.raises(InvalidBalancesError, match=r"one value per holder \(2\)"):
        Holdings.from_columns(["a", "b"], {"XXXX": np.array([1])})
    with pytest.raises(InvalidArgumentError, match="'a' appears more than once"):
        Holdings.from_columns(["a", "b", "a"], {"XXXX": np.array([1, 2, 3])})
    with pytest.raises(InvalidArgumentError, match="'b' appears more than once"):
        Holdings.from_columns(["a", "b", "b"], {"XXXX": np.array([1, 2, 3])})


def test_columns_cannot_be_changed_behind_the_result() -> None:
    holdings = Holdings({"a": {"XXXX": 1}})
    result = audit({"r": "XXXX > 0"}, holdings)
    with pytest.raises(ValueError, match="read-only"):
        holdings.column("XXXX")[0] = 0
    with pytest.raises(ValueError, match="read-only"):
        result.mask("r")[0] = False


def test_a_rule_that_cannot_compile_is_named() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        audit({"broken": "XXXX >>= 1"}, Holdings({}))
    assert "in rule 'broken'" in caught.value.__notes__
