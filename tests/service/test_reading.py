"""The answer readers every client shares: exact JSON, lists of objects, amount maps, whole
answers and Tokenly's ``{"result": true}``, each naming the place of a wrong value."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal

import pytest

from tca_gate.service import Fields, ShapeError, done, each, exact_json, whole


def _name(fields: Fields) -> str:
    return f"{fields.where}={fields.text('name')}"


def test_each_reads_every_object_of_a_list_with_its_place() -> None:
    assert each([{"name": "a"}, {"name": "b"}], "list", _name) == ("list[0]=a", "list[1]=b")


def test_each_reads_a_numeric_key_object_in_index_order() -> None:
    assert each({"1": {"name": "b"}, "0": {"name": "a"}}, "", _name) == ("[0]=a", "[1]=b")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([{"name": "a"}, "b"], "list[1] should be an object, not a string"),
        ([{"name": 1}], "list[0].name should be a string, not the number 1"),
        ({"name": "a"}, "list should be a list, not an object"),
    ],
)
def test_each_names_the_place_of_a_wrong_value(value: object, message: str) -> None:
    with pytest.raises(ShapeError, match=f"^{re.escape(message)}$"):
        each(value, "list", _name)


def test_fields_each_reads_a_nested_list_at_its_place() -> None:
    answer = Fields({"page": {"items": [{"name": "a"}]}})
    assert answer.fields("page").each("items", _name) == ("page.items[0]=a",)
    with pytest.raises(ShapeError, match=r"^page\.rows should be a list, not missing$"):
        answer.fields("page").each("rows", _name)


def test_amounts_are_exact_base_units_in_a_read_only_map() -> None:
    held = Fields({"balances": {"BTC": 150000000, "LTBCOIN": "12345678901234567890"}})
    amounts = held.amounts("balances")
    assert dict(amounts) == {"BTC": 150000000, "LTBCOIN": 12345678901234567890}
    with pytest.raises(TypeError):
        amounts["BTC"] = 0  # type: ignore[index]


def test_amounts_read_phps_empty_array_as_an_empty_map() -> None:
    assert dict(Fields({"balances": []}).amounts("balances")) == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"BTC": 1.5}, r"^balances\.BTC should be an integer amount, not the number 1\.5$"),
        ({"BTC": True}, r"^balances\.BTC should be an integer amount, not true$"),
        ("1", r"^balances should be an object, not a string$"),
    ],
)
def test_amounts_refuse_what_is_not_an_exact_amount(value: object, message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        Fields({"balances": value}).amounts("balances")


def test_whole_reads_an_answer_that_is_one_object() -> None:
    assert whole(_name)({"name": "a"}) == "=a"
    with pytest.raises(ShapeError, match=r"^the answer should be an object, not a list$"):
        whole(_name)([{"name": "a"}])


def test_done_takes_only_result_true() -> None:
    done({"result": True})
    for answer, said in (
        ({"result": False}, "false"),
        ({}, "missing"),
        ({"result": 1}, "the number 1"),
    ):
        with pytest.raises(ShapeError, match=rf"^result should be true, not {said}$"):
            done(answer)


def test_exact_json_reads_fractions_as_decimals_and_integers_as_ints() -> None:
    value = exact_json(b'{"price": 0.1, "big": 1e400, "count": 12345678901234567890}')
    assert value == {
        "price": Decimal("0.1"),
        "big": Decimal("1E+400"),
        "count": 12345678901234567890,
    }
    assert isinstance(value, dict)
    assert isinstance(value["count"], int)


@pytest.mark.parametrize("content", [b'{"price": NaN}', b"[Infinity]", b"-Infinity"])
def test_exact_json_refuses_nan_and_infinity_which_json_has_not(content: bytes) -> None:
    with pytest.raises(ValueError, match="is not a JSON number"):
        exact_json(content)


@pytest.mark.parametrize("content", [b"{", b"", b"0.1.2"])
def test_exact_json_refuses_broken_json(content: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        exact_json(content)


@pytest.mark.parametrize(
    ("reader", "value", "message"),
    [
        (Fields.integer, True, "n should be an integer, not true"),
        (Fields.amount, False, "n should be an integer amount, not false"),
        (Fields.flag, 1, "n should be true or false, not the number 1"),
        (Fields.text, 1, "n should be a string, not the number 1"),
    ],
)
def test_a_typed_field_takes_its_own_type_only_and_a_bool_is_never_a_number(
    reader: Callable[[Fields, str], object], value: object, message: str
) -> None:
    with pytest.raises(ShapeError, match=f"^{re.escape(message)}$"):
        reader(Fields({"n": value}), "n")
