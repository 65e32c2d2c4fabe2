"""Lint: each warning the spec lists, with its code, message and position."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tca_gate import LINT_CODES, Dialect, compile_rule


def codes(text: str, dialect: Dialect = "strict") -> list[tuple[str, int | None]]:
    return [(w.code, w.position) for w in compile_rule(text, dialect=dialect).lint()]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LTBCOIN=10000", []),
        ("LTBCOIN=0", [("always-true", 0)]),
        ("TOKENLY=1&LTBCOIN=0&op_1=<", [("never-true", 10)]),
        ("TOKENLY=1&LTBCOIN=0&op_1=<=", [("never-true", 10)]),
        ("TOKENLY=1&LTBCOIN=0.00000001&op_1=<", [("never-true", 10)]),
        ("LTBCOIN=10&op_0=<", [("positive-only", 0)]),
        ("LTBCOIN=10&LTBCOIN=5&op_0=>&op_1=<", None),  # duplicate key: refused, see below
        ("LTBCOIN=10&ltbcoin=5&op_0=>&op_1=<", [("contradiction", 0), ("positive-only", 11)]),
        ("LTBCOIN=10&ltbcoin=10", [("duplicate", 11)]),
        ("LTBCOIN=10&ltbcoin=5", [("shadowed", 11)]),
        ("LTBCOIN=5&TOKENLY=1&stackop_0=OR", [("stackop-0", 20)]),
        ("LTBCOIN=10&ltbcoin=20&TOKENLY=1&stackop_1=OR", [("shadowed", 11)]),
        ("LTBCOIN=10&TOKENLY=1&ltbcoin=20&stackop_2=OR", []),
        ("LTBCOIN=10&stackOp_1=OR&TOKENLY=1", [("dialect-mismatch", 11)]),
        ("LTBCOIN=10&OP_0=<", [("positive-only", 0), ("dialect-mismatch", 11)]),
        ("PEPE.rare=1", [("dialect-mismatch", 0)]),
        ("LTBCOIN=123456789012.12345678", [("dialect-mismatch", 0)]),
    ],
)
def test_strict_warnings(text: str, expected: list[tuple[str, int]] | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="appears twice"):
            compile_rule(text)
        return
    assert codes(text) == expected


def test_expression_warnings_point_at_the_clause() -> None:
    text = "LTBCOIN >= 0 or TOKENLY > 10 and TOKENLY < 5"
    assert codes(text) == [("always-true", 0), ("contradiction", 16), ("positive-only", 33)]


def test_group_covered_by_another_group() -> None:
    found = compile_rule("LTBCOIN >= 10 or LTBCOIN >= 20 and TOKENLY >= 1").lint()
    assert [(w.code, w.position) for w in found] == [("shadowed", 17)]
    assert "group 1 can only pass when group 0 passes" in found[0].message


def test_tokenpass_dialect_lint_explains_what_the_server_did() -> None:
    text = "LTBCOIN=10000&LTBSTAFF=1&op_0=>stackop_1=OR&oauth_token=abc&C=1,000"
    found = compile_rule(text, dialect="tokenpass").lint()
    messages = {w.message for w in found if w.code == "dialect-mismatch"}
    unknown_op = "Tokenpass does not know the operator '>stackop_1=OR': the clause never passes"
    assert unknown_op in messages
    assert "Tokenpass reads oauth_token as a clause on an asset named OAUTH_TOKEN" in messages
    assert "Tokenpass reads the amount '1,000' of C as 1" in messages
    assert ("never-true", text.index("LTBCOIN")) in [(w.code, w.position) for w in found]


def test_every_reported_code_is_documented() -> None:
    texts = [
        "LTBCOIN=0&TOKENLY=0&op_1=<&stackop_0=OR&BITCORN=5&op_2=<&PEPE.x=1",
        "LTBCOIN >= 10 and LTBCOIN >= 10 and LTBCOIN >= 5 or TOKENLY > 3 and TOKENLY < 2",
    ]
    seen = {w.code for text in texts for w in compile_rule(text).lint()}
    assert seen <= set(LINT_CODES)
    assert len(seen) >= 7


def test_warnings_render_with_code_and_position() -> None:
    (warning,) = compile_rule("LTBCOIN=0").lint()
    assert str(warning) == (
        "always-true: LTBCOIN >= 0 passes for every holder, unless a loan has made their "
        "balance negative (at character 0)"
    )


def test_any_other_difference_from_the_server_is_still_reported() -> None:
    text = "&".join(f"A{i}=1" for i in range(1001))  # PHP reads only max_input_vars (1000)
    found = compile_rule(text).lint()
    assert [w.code for w in found] == ["dialect-mismatch"]
    assert found[0].message == "Tokenpass reads only the first 1,000 variables; it ignores the rest"
    assert found[0].position == text.index("A1000=")


def test_a_readable_rule_too_big_for_the_server_as_a_stack_is_reported() -> None:
    rule = compile_rule("LTBCOIN < 5 and " + " and ".join(f"A{i} >= 1" for i in range(1, 1000)))
    (warning,) = [w for w in rule.lint() if w.code == "dialect-mismatch"]
    assert warning.message == (
        "as a stack this rule has 1,001 variables, and Tokenpass reads only the first 1,000 "
        "(PHP's max_input_vars)"
    )


def test_tokenpass_lint_stops_where_php_stops_reading() -> None:
    text = "LTBCOIN=1\x00&stackOp_1=OR"
    found = compile_rule(text, dialect="tokenpass").lint()
    assert [(w.code, w.position) for w in found] == [("dialect-mismatch", 9)]
    assert found[0].message == "Tokenpass stops reading the rule at this NUL character"


STACK_KEYS = st.sampled_from(
    ["LTBCOIN", "ltbcoin", "TOKENLY", "BTC", "xcp", "A12345", "PEPE.rare", "PEPE.Rare"]
)
SETTING_KEYS = st.sampled_from(["op", "OP", "Op", "stackop", "stackOp", "STACKOP"])
VALUES = st.sampled_from(
    [
        "1",
        "10000",
        "0.5",
        "0.00000001",
        "123456789012.12345678",
        "99999999.99999999",
        ">=",
        ">",
        "<",
        "<=",
        "=",
        "==",
        "!",
        "!=",
        "OR",
        "or",
        "AND",
        "Or",
    ]
)


@st.composite
def stack_texts(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(STACK_KEYS, VALUES), min_size=1, max_size=5))
    settings = draw(st.lists(st.tuples(SETTING_KEYS, st.integers(0, 5), VALUES), max_size=4))
    parts = [f"{key}={value}" for key, value in pairs]
    parts += [f"{key}_{index}={value}" for key, index, value in settings]
    return "&".join(draw(st.permutations(parts)))


@given(stack_texts())
@settings(max_examples=300)
def test_lint_reports_whenever_the_server_would_read_a_strict_rule_differently(
    text: str,
) -> None:
    try:
        strict = compile_rule(text)
    except ValueError:
        return
    tokenpass = compile_rule(text, dialect="tokenpass")
    mismatch = [w for w in strict.lint() if w.code == "dialect-mismatch"]
    assert (strict.groups != tokenpass.groups) == bool(mismatch), (strict, tokenpass, mismatch)


def test_mapping_lint_points_into_the_rendered_mapping_and_reads_values_as_strict_does() -> None:
    from decimal import Decimal

    rule = compile_rule({"LTBCOIN": Decimal("1E+1"), "TOKENLY": "1", "stackOp_1": "OR"})
    (warning,) = rule.lint()
    assert warning.code == "dialect-mismatch"
    assert "stackOp_1" in warning.message
    assert warning.position == len("LTBCOIN=10&TOKENLY=1&")


def test_of_two_equivalent_clauses_only_the_later_is_redundant() -> None:
    found = compile_rule("LTBCOIN >= 5 and LTBCOIN > 4.99999999").lint()
    assert [(w.code, w.position) for w in found] == [("shadowed", 17)]
    assert found[0].message == "LTBCOIN > 4.99999999 adds nothing: LTBCOIN >= 5 already requires it"


def test_shadowed_message_names_only_the_clause_that_implies_it() -> None:
    (shadowed, _) = compile_rule("LTBCOIN >= 3 and LTBCOIN >= 5 and LTBCOIN <= 100").lint()
    assert shadowed.message == "LTBCOIN >= 3 adds nothing: LTBCOIN >= 5 already requires it"


@pytest.mark.parametrize(
    ("text", "read_as"),
    [
        ("LTBCOIN==5", "LTBCOIN >= 0"),
        ("LTBCOIN>=5", "LTBCOIN> >= 5"),
        ("PEPE.a!=5", "PEPE_A! >= 5"),
    ],
)
def test_readable_text_that_could_pass_for_a_query_warns(text: str, read_as: str) -> None:
    (warning,) = compile_rule(text).lint()
    assert warning.code == "dialect-mismatch"
    assert f"Tokenpass reads this text as the stack {read_as};" in warning.message


def test_readable_text_with_spaces_does_not_warn() -> None:
    assert compile_rule("LTBCOIN >= 5").lint() == ()


def test_lower_case_op_and_stackop_keys_are_operators_to_tokenpass() -> None:
    (warning,) = compile_rule("LTBCOIN=5&stackop=1").lint()
    assert warning.message == "Tokenpass reads stackop as a stack operator, not as an asset"


@pytest.mark.parametrize(
    "text",
    [
        " and ".join(f"LTBCOIN != {i}" for i in range(12_000)),
        " or ".join(f"A{i} >= 1 and A{i} >= 2" for i in range(5_000)),
        "=&" * 100_000,
    ],
    ids=["12k-clauses-one-asset", "5k-groups", "junk"],
)
def test_lint_is_linear_in_the_rule(text: str) -> None:
    import time

    rule = compile_rule(text, dialect="tokenpass" if "&" in text else "strict")
    started = time.monotonic()
    found = rule.lint()
    assert time.monotonic() - started < 20  # a bound against quadratic blow-ups
    assert sum(len(w.message) for w in found) < 2_000_000


def test_rules_built_in_code_with_names_balances_never_use_are_flagged() -> None:
    from tca_gate import SATOSHIS_PER_TOKEN, Clause, Rule

    rule = Rule([[Clause("ltbcoin", 10 * SATOSHIS_PER_TOKEN)], [Clause("LTB COIN", 1)]])
    assert [str(w) for w in rule.lint()] == [
        "asset-name: 'ltbcoin' never matches a balance (names are exact): write LTBCOIN",
        "asset-name: 'LTB COIN' is not a Counterparty asset name: no balance matches it",
    ]
    assert Rule(rule.groups, dialect="tokenpass").lint() == ()  # the server's own names
