"""Evaluation: exact integers, one semantics for every dialect, refusal of bad balances."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tca_gate import Clause, InvalidBalancesError, Op, Rule, compile_rule
from tca_gate.rules._evaluator import CODEGEN_LIMIT, _looping_evaluator

ASSETS = ["AAAA", "BBBB", "CCCC", "DDDD"]
clauses = st.builds(
    Clause,
    asset=st.sampled_from(ASSETS),
    amount=st.integers(-5, 5),
    op=st.sampled_from(list(Op)),
)
groups = st.lists(st.lists(clauses, min_size=1, max_size=4), max_size=4)
balances = st.dictionaries(st.sampled_from(ASSETS), st.integers(-6, 6))


def reference(rule_groups: list[list[Clause]], holdings: dict[str, int]) -> bool:
    """The spec's semantics, written as plainly as possible."""
    return any(all(c.passes(holdings.get(c.asset, 0)) for c in group) for group in rule_groups)


@given(groups, balances)
def test_generated_code_matches_the_reference_semantics(
    rule_groups: list[list[Clause]], holdings: dict[str, int]
) -> None:
    rule = Rule(rule_groups)
    expected = reference(rule_groups, holdings)
    assert rule.evaluate(holdings) is expected
    assert rule.explain(holdings).allowed is expected
    assert _looping_evaluator(rule.groups)(holdings) is expected


@pytest.mark.parametrize(
    ("op", "amount", "balance", "passes"),
    [
        (Op.GE, 10, 10, True),
        (Op.GE, 10, 9, False),
        (Op.GT, 10, 10, False),
        (Op.GT, 10, 11, True),
        (Op.EQ, 10, 10, True),
        (Op.EQ, 10, 11, False),
        (Op.NE, 10, 10, False),
        (Op.NE, 10, 0, True),
        (Op.LT, 10, 9, True),
        (Op.LT, 10, 0, False),
        (Op.LT, 10, -1, False),
        (Op.LT, 10, 10, False),
        (Op.LE, 10, 10, True),
        (Op.LE, 10, 0, False),
        (Op.LE, 10, -3, False),
        (Op.UNKNOWN, 0, 5, False),
        (Op.GE, 0, -1, False),
    ],
)
def test_each_operator(op: Op, amount: int, balance: int, passes: bool) -> None:
    rule = Rule([[Clause("LTBCOIN", amount, op)]])
    assert rule.evaluate({"LTBCOIN": balance}) is passes
    assert Clause("LTBCOIN", amount, op).passes(balance) is passes


def test_arithmetic_is_exact_beyond_float_precision() -> None:
    rule = compile_rule("LTBCOIN=90071992.54740993")  # 2**53 + 1 satoshis
    assert rule.clauses[0].amount == 2**53 + 1
    assert rule.evaluate({"LTBCOIN": 2**53 + 1}) is True
    assert rule.evaluate({"LTBCOIN": 2**53}) is False  # equal as floats, not as integers


def test_missing_assets_count_as_zero_and_unrelated_ones_are_ignored() -> None:
    rule = compile_rule("LTBCOIN=0")
    assert rule.evaluate({}) is True
    assert rule.evaluate({"OTHER": "not even a number"}) is True  # type: ignore[dict-item]


@pytest.mark.parametrize(
    "bad",
    [1.0, 150000000.0, math.nan, math.inf, "150000000", True, False, None, Decimal(5), Fraction(1)],
)
def test_balances_that_are_not_ints_are_refused_never_coerced(bad: object) -> None:
    small = compile_rule("LTBCOIN=1&op_0=!=")
    filler = [[Clause(f"A{i}", 0, Op.NE)] for i in range(CODEGEN_LIMIT)]
    big = Rule([*filler, [Clause("LTBCOIN", 1, Op.NE)]])
    for rule in (small, big):
        with pytest.raises(InvalidBalancesError, match="LTBCOIN") as caught:
            rule.evaluate({"LTBCOIN": bad})  # type: ignore[dict-item]
        assert type(bad).__name__ in str(caught.value)
        with pytest.raises(InvalidBalancesError):
            rule.explain({"LTBCOIN": bad})  # type: ignore[dict-item]
    assert isinstance(caught.value, TypeError)


@pytest.mark.parametrize("not_a_mapping", [None, [("LTBCOIN", 1)], 5, "LTBCOIN=1"])
def test_balances_must_be_a_mapping(not_a_mapping: object) -> None:
    rule = compile_rule("LTBCOIN=1")
    with pytest.raises(InvalidBalancesError, match="mapping"):
        rule.evaluate(not_a_mapping)  # type: ignore[arg-type]
    with pytest.raises(InvalidBalancesError, match="mapping"):
        rule.explain(not_a_mapping)  # type: ignore[arg-type]
    with pytest.raises(InvalidBalancesError, match="mapping"):
        Rule([]).evaluate(not_a_mapping)  # type: ignore[arg-type]


def test_ten_thousand_clause_stack_compiles_and_evaluates() -> None:
    count = 10_000
    text = "&".join(f"A{i}=1" for i in range(count)) + "&stackop_5000=OR"
    rule = compile_rule(text)
    assert len(rule.clauses) == count
    assert [len(g) for g in rule.groups] == [5000, 5000]
    holders = {f"A{i}": 10**8 for i in range(5000, count)}
    assert rule.evaluate(holders) is True
    del holders[f"A{count - 1}"]
    assert rule.evaluate(holders) is False
    assert [w.code for w in rule.lint()] == ["dialect-mismatch"]  # the server read only 1000
    assert rule.explain(holders).closest == 1
    tokenpass = compile_rule(text, dialect="tokenpass")  # PHP stops at max_input_vars
    assert tokenpass.clauses == rule.clauses[:1000]


def test_rules_are_immutable_hashable_and_picklable() -> None:
    import pickle

    rule = compile_rule("LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR")
    with pytest.raises(AttributeError):
        rule.groups = ()
    with pytest.raises(AttributeError):
        del rule.evaluate
    with pytest.raises(AttributeError):
        rule.clauses[0].amount = 1  # type: ignore[misc]
    assert {rule: 1}[compile_rule("LTBCOIN >= 10000 or LTBSTAFF >= 1")] == 1
    restored = pickle.loads(pickle.dumps(rule))
    assert restored == rule
    assert restored.evaluate({"LTBSTAFF": 10**8}) is True


def test_rule_constructor_checks_its_parts() -> None:
    with pytest.raises(ValueError, match="no clauses"):
        Rule([[]])
    with pytest.raises(TypeError, match="Clause"):
        Rule([["LTBCOIN"]])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="int of base units"):
        Clause("LTBCOIN", 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="int of base units"):
        Clause("LTBCOIN", True)
    with pytest.raises(TypeError, match="asset"):
        Clause("", 1)


@pytest.mark.parametrize(
    ("text", "op"),
    [
        (">=", Op.GE),
        (">", Op.GT),
        ("=", Op.EQ),
        ("==", Op.EQ),
        ("!=", Op.NE),
        ("!", Op.NE),
        ("<", Op.LT),
        ("<=", Op.LE),
    ],
)
def test_a_clause_takes_its_operator_as_text(text: str, op: Op) -> None:
    clause = Clause("TOKENLY", 10**8, text)
    assert clause == Clause("TOKENLY", 10**8, op)
    assert clause.op is op
    assert Rule([[clause]]).evaluate({"TOKENLY": 10**8}) is op.holds(10**8, 10**8)


def test_an_operator_text_the_language_does_not_have_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'=>'"):
        Clause("TOKENLY", 1, "=>")
    with pytest.raises(TypeError, match="Op or its text"):
        Clause("TOKENLY", 1, 3)  # type: ignore[arg-type]


def test_compiled_rules_are_cached_by_text() -> None:
    text = "LTBCOIN=10000&TOKENLY=1&stackop_1=OR"
    assert compile_rule(text) is compile_rule(text)
    assert compile_rule(text, dialect="tokenpass") is not compile_rule(text)
    rule = compile_rule(text)
    assert compile_rule(rule) is rule
    assert compile_rule({"TOKENLY": 1}) is compile_rule({"TOKENLY": 1})


def test_rules_of_one_shape_share_code_but_not_constants() -> None:
    first = compile_rule("LTBCOIN=1&TOKENLY=2")
    second = compile_rule("BITCORN=3&PEPECASH=4")
    assert first.evaluate.__code__.co_code == second.evaluate.__code__.co_code
    assert first.evaluate({"LTBCOIN": 10**8, "TOKENLY": 2 * 10**8}) is True
    assert second.evaluate({"LTBCOIN": 10**8, "TOKENLY": 2 * 10**8}) is False
    assert second.evaluate({"BITCORN": 3 * 10**8, "PEPECASH": 4 * 10**8}) is True


def test_asset_names_cannot_inject_code() -> None:
    sneaky = "x') or True or ('"
    rule = Rule([[Clause(sneaky, 1)]])
    assert rule.evaluate({}) is False
    assert rule.evaluate({sneaky: 1}) is True


@pytest.mark.parametrize("text", ["LTBCOIN >= 1 or TOKENLY >= 1", "TOKENLY >= 1 or LTBCOIN >= 1"])
def test_a_bad_balance_is_refused_whatever_the_clause_order(text: str) -> None:
    rule = compile_rule(text)
    sheet = {"LTBCOIN": 10**8, "TOKENLY": "lots"}
    with pytest.raises(InvalidBalancesError, match="TOKENLY"):
        rule.evaluate(sheet)  # type: ignore[arg-type]
    with pytest.raises(InvalidBalancesError, match="TOKENLY"):
        rule.explain(sheet)  # type: ignore[arg-type]


def test_anything_with_a_get_method_is_read_alike_by_evaluate_and_explain() -> None:
    class Sheet:
        def get(self, asset: str, default: int) -> int:
            return 10**8 if asset == "LTBCOIN" else default

    rule = compile_rule("LTBCOIN >= 1")
    assert rule.evaluate(Sheet()) is True  # type: ignore[arg-type]
    assert rule.explain(Sheet()).allowed is True  # type: ignore[arg-type]


def test_each_asset_is_read_once() -> None:
    reads: list[str] = []

    class Counting(dict[str, int]):
        def get(self, asset: str, default: int = 0) -> int:  # type: ignore[override]
            reads.append(asset)
            return super().get(asset, default)

    compile_rule("(LTBCOIN >= 1 or TOKENLY >= 1) and (LTBCOIN >= 5 or BTC >= 1)").evaluate(
        Counting(LTBCOIN=10**9)
    )
    assert sorted(reads) == ["BTC", "LTBCOIN", "TOKENLY"]


def test_compiling_and_evaluating_from_many_threads_at_once() -> None:
    """Web apps compile and check rules from worker threads; nothing may be shared unsafely."""
    from concurrent.futures import ThreadPoolExecutor

    def work(n: int) -> tuple[bool, bool, str]:
        a, b, c = f"A{n}", f"A{1000 + n}", f"A{2000 + n}"
        rule = compile_rule(f"{a} >= {n} and ({b} >= 1 or {c} > {n})")  # a new text each time
        stack = compile_rule(f"{a}={n}&{b}=1&{c}={n}&op_2=>&stackop_2=OR")
        holder = {a: n * 10**8, c: n * 10**8 + 1}
        return rule.evaluate(holder), stack.evaluate({b: 10**8}), rule.explain({}).summary

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(work, range(1, 401)))
    for n, (expr_allowed, stack_allowed, summary) in enumerate(results, 1):
        assert expr_allowed is True
        assert stack_allowed is False  # B alone never meets A
        assert summary.startswith(f"Needs {n} A{n} and ")


@pytest.mark.parametrize("assets", [2, 3, 20])
def test_a_bad_balance_in_a_group_that_was_not_read_is_still_refused(assets: int) -> None:
    """Allowed by one group, the evaluator still checks the assets only other groups read."""
    rule = compile_rule(" or ".join(f"A{i} >= 1" for i in range(assets)))
    for bad in range(assets):
        sheet: dict[str, object] = {f"A{i}": 10**8 for i in range(assets)}
        sheet[f"A{bad}"] = 1.0
        with pytest.raises(InvalidBalancesError, match=f"A{bad}"):
            rule.evaluate(sheet)  # type: ignore[arg-type]
        with pytest.raises(InvalidBalancesError, match=f"A{bad}"):
            rule.evaluate({f"A{bad}": "x"})  # type: ignore[dict-item]  # denied, and still refused


@given(groups.filter(bool), balances, st.data())
def test_any_bad_balance_of_a_named_asset_is_refused_by_any_rule(
    rule_groups: list[list[Clause]], holdings: dict[str, int], data: st.DataObject
) -> None:
    """However the groups fall, allowed or refused, a non-int balance never gets through."""
    rule = Rule(rule_groups)
    bad_asset = data.draw(st.sampled_from(rule.assets))
    sheet: dict[str, object] = {
        **holdings,
        bad_asset: data.draw(st.sampled_from([1.0, "1", True, None])),
    }
    with pytest.raises(InvalidBalancesError, match=bad_asset):
        rule.evaluate(sheet)  # type: ignore[arg-type]
    with pytest.raises(InvalidBalancesError, match=bad_asset):
        rule.explain(sheet)  # type: ignore[arg-type]
