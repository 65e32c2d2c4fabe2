"""The PHP primitives against vectors recorded from real PHP (no PHP needed here).

The vectors come from ``tests/fixtures/php/make_vectors.php`` run under PHP 8.2.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tca_gate.rules._stack import query_segments
from tca_gate.wire.php import (
    MAX_INPUT_NESTING_LEVEL,
    MAX_INPUT_VARS,
    php_c_string,
    php_floatval,
    php_intval,
    php_json_encode,
    php_parse_str,
    php_round,
    php_urldecode,
    php_variables,
    tokenpass_amount,
)
from tests.support.data import FIXTURES
from tests.support.data import php_text as text


def php_query_pairs(query: str) -> list[tuple[str, str, int]]:
    """``parse_str`` by plain splitting: the reference the grammar's split must match."""
    parts = []
    start = 0
    for part in php_c_string(query).split("&"):
        if part:
            raw_key, _, raw_value = part.partition("=")
            parts.append((raw_key, raw_value, start))
        start += len(part) + 1
    return php_variables(parts)


VECTORS: dict[str, Any] = json.loads(
    (FIXTURES / "php" / "vectors.json").read_text(encoding="utf-8")
)


def bits(value: float) -> bytes:
    """The exact bit pattern, so -0.0 and 0.0 differ."""
    return struct.pack("<d", value)


def params(name: str) -> list[Any]:
    return [pytest.param(*row, id=f"{name}-{i}") for i, row in enumerate(VECTORS[name])]


def test_vectors_are_from_php_8_2_64_bit() -> None:
    assert VECTORS["php_version"].startswith("8.2.")
    assert VECTORS["php_int_size"] == 8
    assert VECTORS["ini"]["max_input_vars"] == str(MAX_INPUT_VARS)
    assert VECTORS["ini"]["max_input_nesting_level"] == str(MAX_INPUT_NESTING_LEVEL)
    for name in ("urldecode", "parse_str", "intval", "floatval", "amount", "round"):
        assert len(VECTORS[name]) >= 250, name


# --------------------------------------------------------------- vectors


@pytest.mark.parametrize(("given_text", "expected"), params("urldecode"))
def test_urldecode_vectors(given_text: Any, expected: Any) -> None:
    assert php_urldecode(text(given_text)) == text(expected)


@pytest.mark.parametrize(("query", "expected"), params("parse_str"))
def test_parse_str_vectors(query: Any, expected: list[list[Any]]) -> None:
    # Keys PHP turned into arrays are recorded with value null; the flat
    # reading leaves them out and keeps PHP's order for the rest.
    flat = [(text(key), text(value)) for key, value in expected if value is not None]
    assert [(key, value) for key, value, _ in php_query_pairs(text(query))] == flat


@pytest.mark.parametrize(("given_text", "expected"), params("intval"))
def test_intval_vectors(given_text: Any, expected: int) -> None:
    assert php_intval(text(given_text)) == expected


@pytest.mark.parametrize(("given_text", "expected"), params("floatval"))
def test_floatval_vectors(given_text: Any, expected: str) -> None:
    assert bits(php_floatval(text(given_text))) == bits(float(expected))


@pytest.mark.parametrize(("given_text", "expected"), params("amount"))
def test_amount_vectors(given_text: Any, expected: str) -> None:
    value = text(given_text)
    php = float(expected)
    assert bits(php_round(php_floatval(value) * 100000000)) == bits(php)
    assert bits(tokenpass_amount(value)) == bits(php)


@pytest.mark.parametrize(("given_text", "expected"), params("round"))
def test_round_vectors(given_text: str, expected: str) -> None:
    assert bits(php_round(float(given_text))) == bits(float(expected))


# ---------------------------------------------------------- the spec's examples


@pytest.mark.parametrize(
    ("given_text", "expected"),
    [("1x", 1), ("1e2", 100), ("1.9", 1), ("abc", 0), (" 12", 12), ("", 0)],
)
def test_intval_examples(given_text: str, expected: int) -> None:
    assert php_intval(given_text) == expected


def test_intval_saturates_on_64_bit() -> None:
    assert php_intval("9223372036854775808") == 2**63 - 1
    assert php_intval("-9223372036854775809") == -(2**63)
    assert php_intval("1e19") == 2**63 - 1
    assert php_intval("1e400") == 0  # PHP: non-finite doubles become 0
    # PHP's exponent-sign slip: the overflow check reads one digit late.
    assert php_intval("9223372036854775808e+") == -(2**63)


@pytest.mark.parametrize(
    ("given_text", "expected"),
    [
        ("5abc", 5.0),
        ("1e3", 1000.0),
        ("1,000", 1.0),
        ("abc", 0.0),
        (".5", 0.5),
        ("-2", -2.0),
        ("1e400", math.inf),
        ("-1e400", -math.inf),
        (" \t\n\r\v\f7", 7.0),
        ("inf", 0.0),
        ("nan", 0.0),
        ("1_000", 1.0),
        ("0x1A", 0.0),
    ],
)
def test_floatval_examples(given_text: str, expected: float) -> None:
    assert php_floatval(given_text) == expected


def test_floatval_caps_the_exponent_like_zend_strtod() -> None:
    assert php_floatval("1" + "0" * 20000 + "e-20000") == 10.0


def test_round_pre_rounds_to_15_digits() -> None:
    product = php_floatval("0.000000025") * 100000000
    assert php_round(product) == 3.0
    assert round(product) == 2  # Python's own round differs
    assert php_round(0.49999999999999994) == 1.0
    assert php_round(-2.5) == -3.0
    assert math.copysign(1, php_round(-0.3)) == -1
    assert php_round(1e15 + 0.5) == 1e15 + 0.5
    assert math.isnan(php_round(math.nan))
    assert php_round(-math.inf) == -math.inf


def test_tokenpass_amount() -> None:
    assert tokenpass_amount("0.000000025") == 3
    assert tokenpass_amount("1") == 100000000
    assert tokenpass_amount("abc") == 0
    assert tokenpass_amount("-0") == 0
    assert tokenpass_amount("1e400") == math.inf
    assert tokenpass_amount("-1e400") == -math.inf
    assert tokenpass_amount("1.7976931348623157e308") == math.inf  # * 1e8 overflows
    assert tokenpass_amount("1e300") == 1e308
    assert tokenpass_amount("41559459.8519") == 4155945985189999.5  # round leaves >= 1e15 as is


def test_urldecode_examples() -> None:
    assert php_urldecode("a+b%20c") == "a b c"
    assert php_urldecode("100%") == "100%"
    assert php_urldecode("%zz%4") == "%zz%4"
    assert php_urldecode("%C3%A9") == "é"
    assert php_urldecode("%FF") == "\udcff"
    assert php_urldecode("%2B") == "+"


def test_repeated_key_keeps_first_position_and_last_value() -> None:
    assert php_query_pairs("a=1&b=2&a=3") == [("a", "3", 0), ("b", "2", 4)]


def test_dots_and_spaces_in_keys_become_underscores() -> None:
    assert php_query_pairs("a.b=1&c d=2&+e=3") == [("a_b", "1", 0), ("c_d", "2", 6), ("e", "3", 12)]


def test_query_pairs_php_details() -> None:
    assert php_query_pairs("&&a&=1&b==c&") == [("a", "", 2), ("b", "=c", 7)]
    assert php_query_pairs("a[b=1&c[d]=2&c=3") == [("a_b", "1", 0), ("c", "3", 6)]
    assert php_query_pairs("c=3&c[d]=2") == []
    assert php_query_pairs("a%00b=1&x=1\x00&y=2") == [("a", "1", 0), ("x", "1", 8)]
    deep = "a" + "[x]" * (MAX_INPUT_NESTING_LEVEL + 1)
    assert php_query_pairs(f"a=1&{deep}=2&b=3&a=4") == [
        ("b", "3", 7 + len(deep)),
        ("a", "4", 11 + len(deep)),
    ]
    assert php_query_pairs("x=1&" * MAX_INPUT_VARS + "y=2") == [("x", "1", 0)]


# ------------------------------------------------------------------ properties


@given(st.text() | st.text(st.characters(exclude_categories=())))  # the latter: lone surrogates
def test_nothing_raises(value: str) -> None:
    assert isinstance(php_urldecode(value), str)
    assert isinstance(php_query_pairs(value), list)
    assert isinstance(php_intval(value), int)
    assert -(2**63) <= php_intval(value) < 2**63
    assert not math.isnan(php_floatval(value))
    amount = tokenpass_amount(value)
    assert not math.isnan(amount)
    assert math.isinf(amount) or abs(amount) >= 1e15 or amount.is_integer()


@given(st.text(alphabet=st.sampled_from("ab.= +%25E5B[]&\x00é")) | st.text())
def test_positions_point_at_the_key(query: str) -> None:
    pairs = php_query_pairs(query)
    assert len({key for key, _, _ in pairs}) == len(pairs)
    assert len({position for _, _, position in pairs}) == len(pairs)
    for key, _, position in pairs:
        assert position == 0 or query[position - 1] == "&"
        part = query[position:].split("&", 1)[0]
        raw_key = part.partition("=")[0]
        assert part
        if [k for k, _, _ in php_query_pairs(part)] != [key]:
            # Only a part that made an array names its key without making it.
            name = php_urldecode(raw_key).split("\0", 1)[0].lstrip(" ").split("[", 1)[0]
            assert "[" in php_urldecode(raw_key)
            assert name.replace(" ", "_").replace(".", "_") == key


@pytest.mark.parametrize(("query", "expected"), params("parse_str"))
def test_tokenpass_dialect_reads_through_the_grammar_as_parse_str_does(
    query: Any, expected: list[list[Any]]
) -> None:
    """The dialect splits with the grammar's ``query`` entry point; PHP's reading must survive."""
    flat = [(text(key), text(value)) for key, value in expected if value is not None]
    parts = [
        (str(key or ""), str(value or ""), start)
        for key, equals, value, start in query_segments(php_c_string(text(query)))
        if key is not None or equals is not None
    ]
    assert [(key, value) for key, value, _ in php_variables(parts)] == flat
    assert php_variables(parts) == php_query_pairs(text(query))


@pytest.mark.parametrize(("query", "expected"), params("parse_str"))
def test_parse_str_whole_agrees_with_php_at_the_top_level(
    query: Any, expected: list[list[Any]]
) -> None:
    """``php_parse_str`` keeps arrays; where PHP made a plain value it gives the same one."""
    whole = php_parse_str(text(query))
    assert list(whole) == [text(key) for key, _ in expected]
    for key, value in expected:
        found = whole[text(key)]
        if value is None:
            assert isinstance(found, dict)
        else:
            assert found == text(value)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a[]=1&a[]=2", {"a": {"0": "1", "1": "2"}}),
        ("a[5]=x&a[]=y", {"a": {"5": "x", "6": "y"}}),
        ("a[x][y]=1&a[x][z]=2", {"a": {"x": {"y": "1", "z": "2"}}}),
        ("a[b][c=1", {"a": {"b": "1"}}),
        ("a[][x=1", {"a": {"0": "1"}}),
        ("a[x]=2&a=1", {"a": "1"}),
        ("a=1&a[x]=2", {"a": {"x": "2"}}),
        ("a[k.ey]=1", {"a": {"k.ey": "1"}}),
        ("a" + "[x]" * 65 + "=1", {}),
    ],
)
def test_parse_str_builds_nested_arrays_as_php_does(query: str, expected: object) -> None:
    assert php_parse_str(query) == expected


def test_json_encode_writes_lists_as_objects_at_any_depth() -> None:
    value = {"a": [[1, "x/y"], []], "b": "\u00e9"}
    assert php_json_encode(value) == '{"a":{"0":{"0":1,"1":"x/y"},"1":{}},"b":"\\u00e9"}'
    with pytest.raises(ValueError, match="512"):
        php_json_encode(_nested(600))


def _nested(depth: int) -> object:
    value: object = []
    for _ in range(depth):
        value = [value]
    return value
