"""``read_holdings``: CSV, JSON lines and Parquet, wide or long, read exactly; a bad cell is
an error naming the file, the line or row, and the column."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tca_gate import Clause, Rule
from tca_gate.audit import BalanceFileError, Holdings, audit, read_holdings

SAT = 10**8
#: Who holds what, in tokens as a file writes them; "" is an empty cell (wide) or no row.
SHEET = {
    "zoe": {"LTBCOIN": "12500", "TOKENLY": "", "LTBSTAFF": ""},
    "alice": {"LTBCOIN": "8800.5", "TOKENLY": "2", "LTBSTAFF": ""},
    "bob": {"LTBCOIN": "0.00000001", "TOKENLY": "", "LTBSTAFF": "1"},
    "carol": {"LTBCOIN": "", "TOKENLY": "", "LTBSTAFF": ""},
}
#: The same in base units.
EXPECTED = {
    "zoe": {"LTBCOIN": 12500 * SAT, "TOKENLY": 0, "LTBSTAFF": 0},
    "alice": {"LTBCOIN": 880050000000, "TOKENLY": 2 * SAT, "LTBSTAFF": 0},
    "bob": {"LTBCOIN": 1, "TOKENLY": 0, "LTBSTAFF": SAT},
    "carol": {"LTBCOIN": 0, "TOKENLY": 0, "LTBSTAFF": 0},
}
ASSETS = ["LTBCOIN", "TOKENLY", "LTBSTAFF"]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("".join(",".join(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list[list[str]]) -> Path:
    header, *body = rows
    lines = [json.dumps({k: v for k, v in zip(header, row, strict=True) if v}) for row in body]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[list[str]]) -> Path:
    """Amounts as decimal128(30, 8) columns (exact tokens), an empty cell as a null."""
    header, *body = rows
    columns: dict[str, pa.Array] = {}
    for index, name in enumerate(header):
        values = [row[index] for row in body]
        if name in {"holder", "asset"}:
            columns[name] = pa.array(values, pa.string())
        else:
            decimals = [Decimal(v) if v else None for v in values]
            columns[name] = pa.array(decimals, pa.decimal128(30, 8))
    pq.write_table(pa.table(columns), path)
    return path


WRITERS: dict[str, Callable[[Path, list[list[str]]], Path]] = {
    "csv": write_csv,
    "jsonl": write_jsonl,
    "parquet": write_parquet,
}


def wide_rows() -> list[list[str]]:
    return [["holder", *ASSETS]] + [[h, *(s[a] for a in ASSETS)] for h, s in SHEET.items()]


def long_rows() -> list[list[str]]:
    rows = [["holder", "asset", "amount"]]
    for asset in ASSETS:  # asset by asset: holders repeat, out of their first order
        rows += [[h, asset, s[asset]] for h, s in SHEET.items() if s[asset]]
    rows.append(["carol", "TOKENLY", "0"])  # carol's only row: she holds nothing
    return rows


@pytest.mark.parametrize("layout", ["wide", "long"])
@pytest.mark.parametrize("form", ["csv", "jsonl", "parquet"])
def test_every_format_and_layout_reads_the_same_exact_balances(
    tmp_path: Path, form: str, layout: str
) -> None:
    rows = wide_rows() if layout == "wide" else long_rows()
    path = WRITERS[form](tmp_path / f"holders.{form}", rows)
    holdings = read_holdings(path)
    if layout == "wide":
        assert holdings.holders == tuple(SHEET)  # the file's order
    else:  # the order each holder first appears in
        assert holdings.holders == ("zoe", "alice", "bob", "carol")
    for holder, expected in EXPECTED.items():
        got = holdings.balances(holder)
        assert {a: got.get(a, 0) for a in ASSETS} == expected
    result = audit({"premium": "LTBCOIN >= 10000 or LTBSTAFF >= 1"}, holdings)
    assert result.passed("premium") == ("zoe", "bob")


@pytest.mark.parametrize("form", ["csv", "jsonl"])
def test_base_units_with_sat(tmp_path: Path, form: str) -> None:
    rows = [["holder", "LTBCOIN"], ["a", "150"], ["b", "000"]]
    path = WRITERS[form](tmp_path / f"h.{form}", rows)
    holdings = read_holdings(path, sat=True)
    assert [holdings.balances(h).get("LTBCOIN", 0) for h in "ab"] == [150, 0]


def test_parquet_integer_columns_are_base_units_with_sat_and_whole_tokens_without(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.parquet"
    pq.write_table(
        pa.table({"holder": ["a", "b"], "LTBCOIN": pa.array([3, None], pa.int32())}), path
    )
    assert read_holdings(path, sat=True).column("LTBCOIN").tolist() == [3, 0]
    assert read_holdings(path).column("LTBCOIN").tolist() == [3 * SAT, 0]


def test_asset_names_are_read_as_strict_rules_read_them(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "h.csv", [["holder", "ltbcoin", "pepe.Gold"], ["a", "1", "2"]])
    assert read_holdings(path).balances("a") == {"LTBCOIN": SAT, "PEPE.Gold": 2 * SAT}


def test_amounts_past_int64_are_exact_in_every_format(tmp_path: Path) -> None:
    huge = 2**64 + 1  # 1 if it wrapped
    past = 10**12  # tokens: 10^20 base units, past int64
    csv_path = write_csv(tmp_path / "h.csv", [["holder", "X"], ["a", str(huge)], ["b", "1"]])
    sat = read_holdings(csv_path, sat=True)
    assert sat.balances("a") == {"X": huge}
    tokens = read_holdings(write_csv(tmp_path / "t.csv", [["holder", "X"], ["a", str(past)]]))
    assert tokens.balances("a") == {"X": past * SAT}
    parquet = tmp_path / "h.parquet"
    unsigned = pa.array([2**64 - 1, 5], pa.uint64())
    whole_tokens = pa.array([past, 5], pa.int64())
    pq.write_table(pa.table({"holder": ["a", "b"], "U": unsigned, "T": whole_tokens}), parquet)
    base = read_holdings(parquet, sat=True)
    assert base.balances("a") == {"U": 2**64 - 1, "T": past}
    scaled = read_holdings(parquet)
    assert scaled.balances("a") == {"U": (2**64 - 1) * SAT, "T": past * SAT}
    result = audit({"over": Rule([[Clause("U", 2**64 - 2, ">")]])}, base)
    assert result.passed("over") == ("a",)


def test_parquet_decimals_are_exact_and_extra_places_must_be_zero(tmp_path: Path) -> None:
    path = tmp_path / "h.parquet"
    values = [Decimal("0.0000000100"), Decimal("123456789012345678.5000000000")]
    pq.write_table(
        pa.table({"holder": ["a", "b"], "X": pa.array(values, pa.decimal128(38, 10))}), path
    )
    assert read_holdings(path).column("X").tolist() == [1, 12345678901234567850000000]
    bad = tmp_path / "bad.parquet"
    pq.write_table(
        pa.table({"holder": ["a", "b"], "X": pa.array([Decimal(1), Decimal("1.000000001")])}),
        bad,
    )
    with pytest.raises(BalanceFileError, match=r"at row 2, column X: 1\.000000001 is not tokens"):
        read_holdings(bad)


def test_a_float_parquet_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.parquet"
    pq.write_table(pa.table({"holder": ["a"], "LTBCOIN": pa.array([0.5], pa.float64())}), path)
    with pytest.raises(BalanceFileError, match="column LTBCOIN: a double column; floats are"):
        read_holdings(path)


@pytest.mark.parametrize(
    ("cell", "sat", "problem"),
    [
        ("1e3", False, "'1e3' is in exponent form"),
        ("-5", False, "'-5' is negative"),
        ("0.123456789", False, "'0.123456789' has 9 decimal places; tokens have at most 8"),
        ("1.5", True, "'1.5' is not a whole number of base units"),
        (" 5", False, "' 5' has spaces around it"),
        ("five", False, "'five' is not an amount"),
        ("1" * 41, False, "is more than any asset's supply"),
        ("0x10", True, "'0x10' is not an amount"),
    ],
)
def test_a_bad_amount_names_the_line_and_column(
    tmp_path: Path, cell: str, sat: bool, problem: str
) -> None:
    path = write_csv(tmp_path / "h.csv", [["holder", "LTBCOIN"], ["a", "1"], ["b", cell]])
    with pytest.raises(BalanceFileError) as raised:
        read_holdings(path, sat=sat)
    assert str(raised.value).startswith(f"{path} at line 3, column LTBCOIN: ")
    assert problem in str(raised.value)


@pytest.mark.parametrize("header", ["holder,LTBCOIN,TOKENLY", "\ufeffholder,LTBCOIN,TOKENLY"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_csv_quoting_blank_lines_and_long_amounts(
    tmp_path: Path, header: str, newline: str
) -> None:
    """What CSV allows: quoted names with commas and line breaks, blank lines, a byte order
    mark, CRLF; amounts of every length, exact."""
    lines = [
        header,
        '"doe, jane",1,',
        "",
        '"two\nlines",12345678901.5,0',
        "big,123456789012345678901234567890,00000000000000000000000000000000007",
    ]
    path = tmp_path / "h.csv"
    path.write_bytes(newline.join(lines).encode())
    holdings = read_holdings(path)
    assert holdings.holders == ("doe, jane", "two\nlines", "big")
    assert holdings.column("LTBCOIN").tolist() == [
        SAT,
        1234567890150000000,
        123456789012345678901234567890 * SAT,
    ]
    assert holdings.column("TOKENLY").tolist() == [0, 0, 7 * SAT]
    plain = tmp_path / "plain.csv"  # only whole numbers: read by pyarrow's reader alone
    plain.write_bytes(newline.join([header, "a,1,", "", "b,9999999999,2"]).encode())
    sat = read_holdings(plain, sat=True)
    assert (sat.holders, sat.column("LTBCOIN").tolist()) == (("a", "b"), [1, 9999999999])
    assert read_holdings(plain).column("LTBCOIN").tolist() == [SAT, 9999999999 * SAT]


def test_the_first_bad_cell_in_the_files_order_is_reported(tmp_path: Path) -> None:
    rows = [["holder", "X", "Y"], ["a", "1", "2"], ["b", "1", "-2"], ["c", "-1", "1"]]
    with pytest.raises(BalanceFileError, match="at line 3, column Y: '-2' is negative"):
        read_holdings(write_csv(tmp_path / "h.csv", rows))


def test_json_numbers_are_read_as_written(tmp_path: Path) -> None:
    """Integers past 64 bits and decimals, which a JSON reader would make floats, exact."""
    path = tmp_path / "h.jsonl"
    path.write_text(
        '{"holder": "a", "X": 18446744073709551617}\n{"holder": "b", "X": 0.5}\n', "utf-8"
    )
    assert read_holdings(path).column("X").tolist() == [18446744073709551617 * SAT, SAT // 2]
    path.write_text('{"holder": "a", "X": 18446744073709551617}\n{"holder": "b"}\n', "utf-8")
    assert read_holdings(path, sat=True).column("X").tolist() == [18446744073709551617, 0]
    path.write_text('{"holder": "a", "X": 1}\n{"holder": "b", "X": 2, "X": 3}\n', "utf-8")
    with pytest.raises(BalanceFileError, match="at line 2: not JSON: the key 'X' appears twice"):
        read_holdings(path)


def test_a_json_line_with_a_bad_value_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"holder": "a", "X": 0.5}\n\n{"holder": "b", "X": true}\n', "utf-8")
    with pytest.raises(BalanceFileError, match=r"at line 3, column X: true is not an amount"):
        read_holdings(path)
    path.write_text('{"holder": "a", "X": 1.5E2}\n', "utf-8")
    with pytest.raises(BalanceFileError, match=r"at line 1, column X: '1.5E2' is in exponent"):
        read_holdings(path)
    path.write_text('{"holder": "a", "X": 0.5}\n["b"]\n', "utf-8")
    with pytest.raises(BalanceFileError, match="at line 2: each line must be a JSON object"):
        read_holdings(path)


def test_long_files_refuse_an_empty_amount_and_a_repeated_balance(tmp_path: Path) -> None:
    rows = [["holder", "asset", "amount"], ["a", "X", "1"], ["b", "X", ""]]
    with pytest.raises(BalanceFileError, match="at line 3, column amount: empty"):
        read_holdings(write_csv(tmp_path / "h.csv", rows))
    rows = [["holder", "asset", "amount"], ["a", "X", "1"], ["b", "X", "1"], ["a", "x", "2"]]
    with pytest.raises(BalanceFileError) as raised:
        read_holdings(write_csv(tmp_path / "h.csv", rows))
    assert "at line 4: holder 'a' has a second X balance (the first is on line 2)" in str(
        raised.value
    )
    path = tmp_path / "h.parquet"
    pq.write_table(
        pa.table({"holder": ["a", "b"], "asset": ["X", "X"], "amount": pa.array([1, None])}),
        path,
    )
    with pytest.raises(BalanceFileError, match="at row 2, column amount: null"):
        read_holdings(path)


def test_wide_files_refuse_a_repeated_holder_and_two_columns_of_one_asset(
    tmp_path: Path,
) -> None:
    rows = [["holder", "X"], ["a", "1"], ["b", "1"], ["a", "2"]]
    with pytest.raises(BalanceFileError, match="line 4, column holder: holder 'a' is already on"):
        read_holdings(write_csv(tmp_path / "h.csv", rows))
    rows = [["holder", "ltbcoin", "LTBCOIN"], ["a", "1", "2"]]
    with pytest.raises(BalanceFileError, match="column LTBCOIN: it and column ltbcoin both name"):
        read_holdings(write_csv(tmp_path / "h.csv", rows))
    rows = [["holder", "X", "X"], ["a", "1", "2"]]
    with pytest.raises(BalanceFileError, match="at line 1: two columns are named 'X'"):
        read_holdings(write_csv(tmp_path / "h.csv", rows))
    rows = [["name", "X"], ["a", "1"]]
    with pytest.raises(BalanceFileError, match="at line 1: no holder column"):
        read_holdings(write_csv(tmp_path / "h.csv", rows))
    rows = [["holder", "X"], ["", "1"]]
    with pytest.raises(BalanceFileError, match="at line 2, column holder: a holder's name is"):
        read_holdings(write_csv(tmp_path / "h.csv", rows))
    rows = [["holder", "X"], ["a", "1", "2"]]
    with pytest.raises(BalanceFileError, match="at line 2: 3 cells, but the header has 2"):
        read_holdings(write_csv(tmp_path / "h.csv", rows))


def test_the_format_comes_from_the_extension_unless_given(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "holders.txt", [["holder", "X"], ["a", "1"]])
    with pytest.raises(BalanceFileError, match="cannot tell its format from its name"):
        read_holdings(path)
    assert read_holdings(path, format="csv").balances("a") == {"X": SAT}
    with open(path, "rb") as file:  # a file object, named for errors
        assert read_holdings(file, format="csv", name="members").holders == ("a",)
    with pytest.raises(BalanceFileError, match="no such file"):
        read_holdings(tmp_path / "missing.csv")


def test_holdings_take_python_int_columns_exactly() -> None:
    holdings = Holdings.from_columns(["a", "b"], {"X": [2**70, 1], "Y": np.array([1, 2])})
    assert holdings.column("X").tolist() == [2**70, 1]
    assert holdings.column("Y").dtype == np.int64
    assert Holdings.from_columns(["a"], {"X": [5]}).column("X").dtype == np.int64


def test_holders_assets_and_keys_utf8_cannot_hold_are_refused(tmp_path: Path) -> None:
    """JSON's escapes can write a lone surrogate, which no UTF-8 output (CSV, JSON) holds."""
    path = tmp_path / "h.jsonl"
    cases = [
        ('{"holder": "a", "X": 1}\n{"holder": "\\ud800evil", "X": 1}\n', "line 2, column holder"),
        ('{"holder": "a", "asset": "X\\udfff", "amount": 1}\n', "line 1, column asset"),
        ('{"holder": "a", "X": 1}\n{"holder": "b", "\\ud800": 1}\n', "line 2: the key"),
    ]
    for text, where in cases:
        path.write_text(text, "utf-8")
        with pytest.raises(BalanceFileError, match=f"at {where}.* holds a lone surrogate"):
            read_holdings(path)
    path.write_text('{"holder": "a", "X": 1}\n{"holder": "b", "": 1}\n', "utf-8")
    with pytest.raises(BalanceFileError, match="at line 2: a key is empty"):
        read_holdings(path)


def test_an_empty_csv_header_cell_is_refused_naming_its_column(tmp_path: Path) -> None:
    for header in (["holder", "", "X"], ["holder", "X", ""]):
        number = header.index("") + 1
        path = write_csv(tmp_path / "h.csv", [header, ["a", "1", "2"]])
        with pytest.raises(BalanceFileError, match=f"at line 1, column {number}: .* no name"):
            read_holdings(path)


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        (pa.array([True, None]), "a bool column"),
        (pa.array(["5", None]).dictionary_encode(), "a dictionary<values=string"),
        (pa.array([b"5", None]), "a binary column"),
        (pa.array([[5], None]), "a list<element: int64> column"),
        (pa.array([{"x": 5}, None]), "a struct<x: int64> column"),
        (pa.array([[("x", 5)], None], pa.map_(pa.string(), pa.int64())), "a map<string, int64"),
        (pa.array([0.5, None]), "a double column; floats are inexact"),
    ],
)
def test_parquet_amount_columns_of_other_types_are_refused_even_with_nulls(
    tmp_path: Path, column: pa.Array, kind: str
) -> None:
    path = tmp_path / "h.parquet"
    pq.write_table(pa.table({"holder": ["a", "b"], "X": column}), path)
    with pytest.raises(BalanceFileError, match=f"at column X: {kind}"):
        read_holdings(path)


def test_a_parquet_column_of_nulls_only_is_zeros_when_wide_and_refused_when_long(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.parquet"
    pq.write_table(pa.table({"holder": ["a", "b"], "X": pa.nulls(2), "Y": [1, None]}), path)
    holdings = read_holdings(path)
    assert (holdings.column("X").tolist(), holdings.column("Y").tolist()) == ([0, 0], [SAT, 0])
    long = {"holder": ["a", "b"], "asset": ["X", "Y"], "amount": pa.nulls(2)}
    pq.write_table(pa.table(long), path)
    with pytest.raises(BalanceFileError, match="at row 1, column amount: null"):
        read_holdings(path)


def test_an_empty_amount_is_refused_in_every_long_format(tmp_path: Path) -> None:
    rows = [["holder", "asset", "amount"], ["a", "X", "1"], ["b", "X", ""]]
    path = tmp_path / "h.jsonl"
    path.write_text(
        "".join(json.dumps(dict(zip(rows[0], row, strict=True))) + "\n" for row in rows[1:])
    )
    with pytest.raises(BalanceFileError, match="at line 2, column amount: empty"):
        read_holdings(path)
    parquet = tmp_path / "h.parquet"
    columns = {name: [row[index] for row in rows[1:]] for index, name in enumerate(rows[0])}
    pq.write_table(pa.table(columns), parquet)
    with pytest.raises(BalanceFileError, match="at row 2, column amount: empty"):
        read_holdings(parquet)


def test_json_minus_zero_is_refused_as_signed(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"holder": "a", "X": 1}\n{"holder": "b", "X": -0}\n', "utf-8")
    with pytest.raises(BalanceFileError, match="at line 2, column X: '-0' is negative"):
        read_holdings(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"holder": "a",\n "X": 1}\n', "line 1: not JSON: .*one object a line"),
        ('{"holder": "a", "X": 1} {"holder": "b", "X": 2}\n', "line 1: not JSON: Extra data"),
        ('{"holder": "a", "X": NaN}\n', "line 1, column X: NaN is not an amount"),
        ('{"holder": "a", "X": -Infinity}\n', "line 1, column X: -Infinity is not an amount"),
    ],
)
def test_a_json_line_must_be_one_object_of_json(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(text, "utf-8")
    with pytest.raises(BalanceFileError, match=f"at {problem}"):
        read_holdings(path)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"holder,X\na,1\n\xe9,2\n", r"line 3: not UTF-8 text \(byte 0xe9"),
        (b'holder,X\na,1\n"b\nc\nd",x\n', "line 3, column X: 'x' is not an amount"),
        (b'holder,X\na,1\n"b\nc",1,2\n', "line 3: 3 cells, but the header has 2"),
        (b'X,holder\n1,a\n2,"b\n', "line 3: a quoted cell here is never closed"),
    ],
)
def test_csv_problems_name_the_line_a_record_starts_on(
    tmp_path: Path, data: bytes, problem: str
) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(data)
    with pytest.raises(BalanceFileError, match=f"at {problem}"):
        read_holdings(path)
    path.write_bytes(b'X,holder\n1,a"b\n')  # a quote inside a cell is text, opening nothing
    assert read_holdings(path).holders == ('a"b',)


def test_a_parquet_column_name_twice_is_named(tmp_path: Path) -> None:
    path = tmp_path / "h.parquet"
    pq.write_table(pa.table([["a"], [1], [2]], names=["holder", "X", "X"]), path)
    with pytest.raises(BalanceFileError, match="at its schema: two columns are named 'X'"):
        read_holdings(path)


def test_holdings_take_a_list_of_ints_past_int64_and_negative_exactly() -> None:
    """As the mapping form does: any int, exactly (np.asarray would make floats of these)."""
    holdings = Holdings.from_columns(["a", "b"], {"X": [2**63, -1], "Y": (2**64, 0)})
    assert holdings.column("X").tolist() == [2**63, -1]
    assert holdings.balances("b") == Holdings({"b": {"X": -1, "Y": 0}}).balances("b")


@pytest.mark.parametrize("name", ["holder", "asset", "amount"])
def test_parquet_text_that_is_not_utf8_names_its_row(tmp_path: Path, name: str) -> None:
    """Parquet does not check a string column's bytes; the reader does."""
    columns = {"holder": ["a", "b"], "asset": ["X", "Y"], "amount": ["1", "2"]}
    columns[name] = pa.array([b"1", b"\xff"]).view(pa.string())
    path = tmp_path / "h.parquet"
    pq.write_table(pa.table(columns), path)
    with pytest.raises(BalanceFileError, match=f"at row 2, column {name}: not UTF-8 text"):
        read_holdings(path)
