"""Any input either compiles or raises RuleSyntaxError: never another exception, never a hang."""

from __future__ import annotations

import string
import time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tca_gate import Dialect, Rule, RuleSyntaxError, compile_rule
from tca_gate.rules._stack import MAX_RULE_LENGTH

RULE_ALPHABET = string.ascii_letters + string.digits + "&=_.,%+-<>!()| \t\n#[]\x00é"
rule_like = st.text(alphabet=RULE_ALPHABET, max_size=200)
tokens = st.lists(
    st.sampled_from(
        [
            "LTBCOIN",
            "A12",
            "PEPE.x",
            ">=",
            "<",
            "==",
            "!=",
            "=",
            "and",
            "or",
            "(",
            ")",
            "&",
            "op_0",
            "stackop_1",
            "OR",
            "1",
            "0.5",
            "1e3",
            " ",
            "=>",
            "&&",
            "||",
            "-1",
        ]
    ),
    max_size=40,
).map("".join)


def compiles_or_refuses(text: str, dialect: Dialect) -> None:
    try:
        rule = compile_rule(text, dialect=dialect)
    except RuleSyntaxError as error:
        message = str(error)
        assert dialect == "strict" or len(text) > MAX_RULE_LENGTH, message
        assert message
        return
    assert isinstance(rule, Rule)
    assert rule.evaluate({}) in (True, False)
    rule.explain({})
    rule.lint()


@given(st.text(max_size=300) | rule_like | tokens)
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.parametrize("dialect", ["strict", "tokenpass"])
def test_any_text_compiles_or_raises_rule_syntax_error(dialect: Dialect, text: str) -> None:
    compiles_or_refuses(text, dialect)


@given(st.dictionaries(st.text(max_size=12), st.text(max_size=12) | st.integers(), max_size=6))
def test_any_mapping_compiles_or_raises_rule_syntax_error(mapping: dict[str, object]) -> None:
    try:
        rule = compile_rule(mapping)
    except RuleSyntaxError:
        pass
    else:
        assert rule.evaluate({}) in (True, False)
    assert compile_rule(mapping, dialect="tokenpass").evaluate({}) in (True, False)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 10_000,
        ")" * 10_000,
        "(" * 10_000 + "LTBCOIN >= 1" + ")" * 10_000,
        "LTBCOIN >= 1 " + "and " * 10_000,
        "&" * 100_000,
        "=" * 100_000,
        "a" * 1_000_000,
        "&" * MAX_RULE_LENGTH,
        "=&" * (MAX_RULE_LENGTH // 2),
        "LTBCOIN=" + "9" * 100_000,
        "LTBCOIN=1." + "0" * 100_000,
        "LTBCOIN=1e" + "9" * 10_000,
        "\x00" * 10_000,
        "é" * 100_000,
        "(LTBCOIN >= 1 or TOKENLY >= 1) and " * 20 + "BTC >= 1",
    ],
    ids=lambda t: f"{t[:12]!r}x{len(t)}",
)
@pytest.mark.parametrize("dialect", ["strict", "tokenpass"])
def test_hostile_inputs_finish_quickly(text: str, dialect: Dialect) -> None:
    started = time.monotonic()
    compiles_or_refuses(text, dialect)
    assert time.monotonic() - started < 30  # a bound against hangs, not a performance figure


def test_megabytes_are_refused_with_the_limit() -> None:
    text = "LTBCOIN=1&" * (MAX_RULE_LENGTH // 10 + 1)
    for dialect in ("strict", "tokenpass"):
        with pytest.raises(RuleSyntaxError, match=f"the limit is {MAX_RULE_LENGTH:,}"):
            compile_rule(text, dialect=dialect)
    assert compile_rule(text[: MAX_RULE_LENGTH - 10], dialect="tokenpass").evaluate({}) is False


@pytest.mark.parametrize(
    ("mapping", "read_as"),
    [
        ({"LTBCOIN": [5]}, ""),  # PHP sends LTBCOIN[0]=5: an array, not a clause
        ({"LTBCOIN": {"a": 1}, "TOKENLY": 2}, "TOKENLY >= 2"),
        ({"LTBCOIN": b"5"}, "LTBCOIN >= 5"),
        ({"LTBCOIN": "\udc80"}, "LTBCOIN >= 0"),
        ({"LTBCOIN\ud800": "5"}, "LTBCOIN\ud800 >= 5"),
        ({"LTBCOIN": 10**5000}, "LTBCOIN >= 0"),  # PHP: a float, INF, "INF", floatval 0
        ({"LTBCOIN": 2**70}, "LTBCOIN >= 1180591620717411303424"),  # a PHP float
        ({"LTBCOIN": 5, "TOKENLY": None}, "LTBCOIN >= 5"),
        ({"LTBCOIN": Decimal("1E+1")}, "LTBCOIN >= 10"),
    ],
)
def test_tokenpass_mappings_are_sent_as_php_would(mapping: dict[str, object], read_as: str) -> None:
    rule = compile_rule(mapping, dialect="tokenpass")
    assert (str(rule) if rule.groups else "") == read_as


def test_tokenpass_mappings_refuse_values_php_could_not_send() -> None:
    with pytest.raises(TypeError, match="not object"):
        compile_rule({"LTBCOIN": object()}, dialect="tokenpass")
