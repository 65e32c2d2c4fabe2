"""Holder files (CSV, JSON lines, Parquet; wide or long) read exactly into ``Holdings``.

Wide: a ``holder`` column and one column per asset (an empty cell or a null is 0).
Long: exactly the columns ``holder``, ``asset`` and ``amount``, a row per balance (a
holder may repeat; the same holder and asset twice is an error, not a sum). Amounts are
tokens (``10000``, ``0.5``: at most 8 decimal places) or, with ``sat``, whole base
units; no negative, no exponent, no float. A problem is a ``BalanceFileError`` naming
the file, the place (``line N`` of a CSV or JSON lines file, the CSV header being line
1; ``row N`` of a Parquet file, counting its data rows from 1) and the column.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal, NoReturn

import numpy as np

from tca_gate.errors import BalanceFileError, InvalidArgumentError, shorten
from tca_gate.rules import MAX_DIGITS, SATOSHIS_PER_TOKEN, canonical_asset

from ._audit import Column, Holdings, int_column

HoldingsFormat = Literal["csv", "jsonl", "parquet"]
#: The formats ``read_holdings`` reads, and the file extensions that pick each.
FORMATS: dict[str, HoldingsFormat] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}
LONG_COLUMNS = ("holder", "asset", "amount")

_ECHO = 60
_SCALE = 10**8
_TOKENS = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_INT64_MAX = int(np.iinfo(np.int64).max)
#: A balance is below 10^MAX_DIGITS tokens (the package's limit on amounts).
_MAX_SAT = 10**MAX_DIGITS * SATOSHIS_PER_TOKEN


#: Where the row of an index is, as an error names it ("line 3", "row 2").
Place = Callable[[int], str]


class _JsonNumber(str):
    """A JSON number as written, so that it is read exactly (never through a float)."""

    __slots__ = ()


class _JsonConstant(_JsonNumber):
    """``NaN``, ``Infinity`` or ``-Infinity``: Python's json reads them, JSON has no such thing."""

    __slots__ = ()


def read_holdings(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    format: HoldingsFormat | None = None,
    sat: bool = False,
    name: str | None = None,
) -> Holdings:
    """Read a holder file (a path, or a binary file with ``format`` or ``name`` given).

    ``format`` defaults to the one the extension names (``FORMATS``). Amounts are
    tokens, or whole base units with ``sat``. ``name`` is how errors name the file.
    """
    origin = name or (os.fspath(source) if isinstance(source, str | os.PathLike) else "")
    origin = origin or getattr(source, "name", "") or "holders"
    if format is None:
        format = FORMATS.get(Path(origin).suffix.lower())
        if format is None:
            known = ", ".join(FORMATS)
            raise BalanceFileError(
                origin, "", f"cannot tell its format from its name ({known}): give the format"
            )
    reader = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}[format]
    if isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as file:
                return reader(file, origin, sat)
        except FileNotFoundError:
            raise BalanceFileError(origin, "", "no such file") from None
        except OSError as error:
            raise BalanceFileError(origin, "", error.strerror or str(error)) from None
    return reader(source, origin, sat)


def _read_all(file: IO[bytes]) -> bytes:
    """The file's bytes, read a mebibyte at a time (so that a progress bar can follow)."""
    return b"".join(iter(lambda: file.read(1 << 20), b""))


# ----------------------------------------------------------------- amounts as text


def _amount(text: str, sat: bool) -> int:
    """An amount written as text to base units; ``ValueError`` says what is wrong."""
    match = _TOKENS.fullmatch(text)
    if match is None:
        raise ValueError(_not_amount(text, sat))
    whole, places = match.groups()
    if sat:
        if places is not None:
            raise ValueError(
                f"{_shown(text)} is not a whole number of base units (with sat, amounts"
                " are integers; without it, tokens)"
            )
        value = _digits(whole, MAX_DIGITS + 8, text)
    else:
        if places is not None and len(places) > 8:
            raise ValueError(
                f"{_shown(text)} has {len(places)} decimal places; tokens have at most 8"
            )
        value = _digits(whole, MAX_DIGITS, text) * _SCALE + int((places or "").ljust(8, "0"))
    return value


def _digits(whole: str, most: int, text: str) -> int:
    significant = whole.lstrip("0")
    if len(significant) > most:
        raise ValueError(f"{_shown(text)} is more than any asset's supply")
    return int(significant or "0")


def _not_amount(text: str, sat: bool) -> str:
    shown = _shown(text)
    if text.strip() != text:
        return f"{shown} has spaces around it"
    if text.startswith("-"):
        return f"{shown} is negative; a balance is 0 or more"
    if "e" in text.lower() and re.fullmatch(r"[+-]?[0-9.]+[eE][+-]?[0-9]+", text):
        return f"{shown} is in exponent form; write the amount out ({_example(sat)})"
    return f"{shown} is not an amount ({_example(sat)})"


def _example(sat: bool) -> str:
    return "whole base units, such as 1000000" if sat else "tokens, such as 10000 or 0.5"


def _shown(text: str) -> str:
    return repr(shorten(text, _ECHO))


def _column(values: Sequence[int]) -> Column:
    return int_column(list(values))


# ----------------------------------------------------------------- CSV


def _read_csv(file: IO[bytes], origin: str, sat: bool) -> Holdings:
    """pyarrow's reader when it can take the file as it is; else, or to say what is
    wrong and on which line, Python's ``csv`` (the two agree on every file both read)."""
    data = _read_all(file).removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        problem = f"not UTF-8 text (byte {data[error.start]:#04x}: {error.reason})"
        raise BalanceFileError(origin, f"line {line}", problem) from None
    if data.count(b'"') % 2:  # a quote left open swallows the rest of the file as one cell
        _check_quotes(text, origin)
    fast = _arrow_csv(data, sat)
    if fast is not None:
        return fast
    return _csv_rows(csv.reader(io.StringIO(text, newline="")), origin, sat)


def _check_quotes(text: str, origin: str) -> None:
    """Refuse a quoted cell that runs to the end of the file, naming the line it opens on."""
    rows = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for _ in rows:
            start = rows.line_num + 1
    except csv.Error as error:
        if "unexpected end of data" in str(error):
            raise BalanceFileError(
                origin, f"line {start}", 'a quoted cell here is never closed (a " is missing)'
            ) from None


def _arrow_csv(data: bytes, sat: bool) -> Holdings | None:
    """Holdings from pyarrow's CSV reader, every column read as text; ``None`` when
    pyarrow is missing or anything is unusual (a bad cell, a repeated holder)."""
    try:
        import pyarrow as pa  # noqa: PLC0415 (in the audit extra, but CSV can do without)
        import pyarrow.csv as arrow_csv  # noqa: PLC0415
    except ImportError:
        return None
    try:
        header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8")]))
    except (StopIteration, UnicodeDecodeError, csv.Error):
        return None
    try:
        table = arrow_csv.read_csv(
            pa.BufferReader(data),
            parse_options=arrow_csv.ParseOptions(newlines_in_values=True),
            convert_options=arrow_csv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.column_names != header or len(set(header)) != len(header):
        return None
    place, origin = str, ""  # never shown: on any problem the caller reads the file again
    try:
        layout = _layout(header, origin, "")
        if layout == "long":
            return None  # rarely large; the careful reader pivots it as fast
        holders = _holders(table.column("holder").to_pylist(), place, origin)
        columns = {}
        for name in header:
            column = None if name == "holder" else _arrow_amounts(table.column(name), sat)
            if column is not None:
                columns[name] = column
            elif name != "holder":
                return None
        return _wide(holders, columns, place, origin)
    except BalanceFileError:
        return None


def _arrow_amounts(column: Any, sat: bool) -> Column | None:
    """A column of text cells in base units (an empty cell is 0), or ``None`` if some
    cell is not an amount."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    plain = r"^[0-9]{1,18}$" if sat else r"^[0-9]{1,10}$"  # each fits int64 in base units
    filled = pc.if_else(pc.equal(column, ""), "0", column)
    if pc.all(pc.match_substring_regex(filled, plain)).as_py() is not False:
        values = np.asarray(pc.cast(filled, pa.int64()).to_numpy(), dtype=np.int64)
        return values if sat else values * _SCALE
    amounts = _amounts(column.to_pylist(), sat, empty_is_zero=True)
    return None if amounts is None else _column(amounts)


def _csv_rows(rows: Any, origin: str, sat: bool) -> Holdings:
    start = 1  # the line the record being read starts on (a quoted cell may span lines)
    try:
        header = next(rows, None)
        if header is None:
            raise BalanceFileError(origin, "", "the file is empty; it needs a header line")
        layout = _layout(header, origin, "line 1")
        lines: list[int] = []
        cells: list[list[str]] = []
        start = rows.line_num + 1
        for row in rows:
            if row:  # else a blank line
                if len(row) != len(header):
                    raise BalanceFileError(
                        origin,
                        f"line {start}",
                        f"{len(row)} cells, but the header has {len(header)} columns",
                    )
                lines.append(start)
                cells.append(row)
            start = rows.line_num + 1
    except csv.Error as error:
        raise BalanceFileError(origin, f"line {start}", str(error)) from None

    def place(index: int) -> str:
        return f"line {lines[index]}"

    by_column = list(zip(*cells, strict=True)) if cells else [() for _ in header]
    return _build(layout, header, by_column, place=place, origin=origin, sat=sat)


# ----------------------------------------------------------------- JSON lines


def _read_jsonl(file: IO[bytes], origin: str, sat: bool) -> Holdings:
    """pyarrow's JSON reader when it reads every amount exactly (integers, text); else,
    or to say what is wrong and on which line, Python's ``json``, line by line."""
    data = _read_all(file)
    fast = _arrow_jsonl(data.removeprefix(b"\xef\xbb\xbf"), sat)
    if fast is not None:
        return fast
    lines: list[int] = []
    objects: list[dict[str, Any]] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BalanceFileError(
                origin, f"line {number}", f"not UTF-8 ({error.reason})"
            ) from None
        if number == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        try:
            value = json.loads(
                line,
                parse_int=_JsonNumber,
                parse_float=_JsonNumber,
                parse_constant=_JsonConstant,
                object_pairs_hook=_unique,
            )
        except ValueError as error:
            problem = f"not JSON: {error}"
            if isinstance(error, json.JSONDecodeError) and error.pos >= len(line.rstrip()):
                problem += " (the line ends before its object does: one object a line)"
            raise BalanceFileError(origin, f"line {number}", problem) from None
        if not isinstance(value, dict):
            raise BalanceFileError(origin, f"line {number}", "each line must be a JSON object")
        lines.append(number)
        objects.append(value)
    if not objects:
        raise BalanceFileError(origin, "", "the file holds no holders (one JSON object a line)")
    first = list(objects[0])
    long = sorted(first) == sorted(LONG_COLUMNS)
    header: list[str] = list(LONG_COLUMNS) if long else ["holder"]
    if not long:
        seen = set(header)
        for index, value in enumerate(objects):
            for key in value:
                if key not in seen:
                    _check_key(key, f"line {lines[index]}", origin)
                    seen.add(key)
                    header.append(key)
    layout = _layout(header, origin, f"line {lines[0]}")
    columns: list[list[object]] = []
    for key in header:
        columns.append([value.get(key) for value in objects])
    if long:
        for index, value in enumerate(objects):
            if len(value) != len(LONG_COLUMNS) or any(key not in value for key in LONG_COLUMNS):
                raise BalanceFileError(
                    origin,
                    f"line {lines[index]}",
                    f"a long file's objects have exactly the keys {', '.join(LONG_COLUMNS)}",
                )

    def place(index: int) -> str:
        return f"line {lines[index]}"

    return _build(layout, header, columns, place=place, origin=origin, sat=sat)


def _check_key(key: str, where: str, origin: str) -> None:
    """Refuse a key that cannot name an asset: empty, or not text UTF-8 can hold."""
    if not key:
        raise BalanceFileError(origin, where, "a key is empty: each key names an asset (or holder)")
    if not _is_utf8(key):
        raise BalanceFileError(origin, where, f"the key {_shown(key)} {_NOT_UTF8}")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (json would keep the last silently)."""
    found = dict(pairs)
    if len(found) != len(pairs):
        repeated = next(key for index, (key, _) in enumerate(pairs) if key in dict(pairs[:index]))
        raise ValueError(f"the key {_shown(repeated)} appears twice")
    return found


# ----------------------------------------------------------------- common to text files


def _layout(header: Sequence[str], origin: str, where: str) -> Literal["wide", "long"]:
    """``long`` when the columns are exactly holder, asset, amount; else ``wide``."""
    if "" in header:
        number = header.index("") + 1
        raise BalanceFileError(
            origin,
            f"{where}, column {number}" if where else f"column {number}",
            "the column has no name: each column is holder or an asset",
        )
    repeated = [name for index, name in enumerate(header) if name in header[:index]]
    if repeated:
        raise BalanceFileError(origin, where, f"two columns are named {_shown(repeated[0])}")
    if sorted(header) == sorted(LONG_COLUMNS):
        return "long"
    if "holder" not in header:
        raise BalanceFileError(
            origin,
            where,
            "no holder column: a wide file has a holder column and one per asset,"
            " a long one the columns holder, asset, amount",
        )
    return "wide"


def _amounts(values: Sequence[Any], sat: bool, *, empty_is_zero: bool) -> list[int] | None:
    """Every cell in base units, or ``None`` when some cell is not an amount.

    The fast path: plain digits are converted directly; anything else goes through
    ``_amount``. Which cell is wrong, and why, is left to ``_careful``.
    """
    scale, most = (1, MAX_DIGITS + 8) if sat else (_SCALE, MAX_DIGITS)
    empty = 0 if empty_is_zero else None
    try:
        amounts: list[Any] = [
            int(v) * scale
            if v.__class__ is str and v.isdigit() and v.isascii() and len(v) <= most
            else (empty if v is None or v == "" else _amount(v, sat))
            for v in values
        ]
    except (TypeError, ValueError):  # not text, or not an amount
        return None
    return None if None in amounts else amounts


def _careful(
    columns: Mapping[str, Sequence[object]],
    sat: bool,
    *,
    empty_is_zero: bool,
    place: Place,
    origin: str,
) -> NoReturn:
    """Raise ``BalanceFileError`` for the first bad cell of ``columns``, row by row."""
    rows = len(next(iter(columns.values()), ()))
    for index in range(rows):
        for name, values in columns.items():
            value = values[index]
            where = f"{place(index)}, column {shorten(name, _ECHO)}"
            if value is None or value == "":
                if empty_is_zero:
                    continue
                raise BalanceFileError(origin, where, "empty; a long row needs its amount")
            if not isinstance(value, str) or isinstance(value, _JsonConstant):
                raise BalanceFileError(origin, where, _kind(value))
            try:
                _amount(value, sat)
            except ValueError as error:
                raise BalanceFileError(origin, where, str(error)) from None
    raise AssertionError("every cell is an amount, yet the fast reading refused one")


def _converted(
    columns: Mapping[str, Sequence[object]],
    sat: bool,
    *,
    empty_is_zero: bool,
    place: Place,
    origin: str,
) -> dict[str, Column]:
    """Each column of text cells as base units, or the first bad cell's error."""
    converted: dict[str, Column] = {}
    for name, values in columns.items():
        amounts = _amounts(values, sat, empty_is_zero=empty_is_zero)
        if amounts is None:
            _careful(columns, sat, empty_is_zero=empty_is_zero, place=place, origin=origin)
        converted[name] = _column(amounts)
    return converted


def _kind(value: object) -> str:
    """What a JSON value that is not an amount is (a true, an object, a NaN...)."""
    if isinstance(value, _JsonConstant):
        return f"{value} is not an amount (nor JSON: a number is written out in digits)"
    if isinstance(value, bool):
        return f"{str(value).lower()} is not an amount"
    return f"a JSON {'object' if isinstance(value, dict) else 'array'} is not an amount"


_NOT_UTF8 = "holds a lone surrogate (\\ud800 to \\udfff), which is not text UTF-8 can write"


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_utf8(values: Sequence[str], column: str, place: Place, origin: str) -> None:
    """Refuse a name JSON's escapes made that no UTF-8 output can hold (one encode for all)."""
    if not _is_utf8("\n".join(values)):
        index = next(index for index, value in enumerate(values) if not _is_utf8(value))
        raise BalanceFileError(
            origin, f"{place(index)}, column {column}", f"{_shown(values[index])} {_NOT_UTF8}"
        )


def _holders(values: Iterable[object], place: Place, origin: str) -> list[str]:
    holders: list[str] = []
    for index, value in enumerate(values):
        if isinstance(value, _JsonNumber) or not isinstance(value, str) or not value:
            problem = "empty" if value in (None, "") else "not a string"
            raise BalanceFileError(
                origin, f"{place(index)}, column holder", f"a holder's name is {problem}"
            )
        holders.append(value)
    _check_utf8(holders, "holder", place, origin)
    return holders


def _build(
    layout: Literal["wide", "long"],
    header: Sequence[str],
    columns: Sequence[Sequence[object]],
    *,
    place: Place,
    origin: str,
    sat: bool,
) -> Holdings:
    cells = dict(zip(header, columns, strict=True))
    holders = _holders(cells.pop("holder"), place, origin)
    if layout == "long":
        assets: list[str] = []
        for index, value in enumerate(cells.pop("asset")):
            if not isinstance(value, str) or isinstance(value, _JsonNumber) or not value:
                raise BalanceFileError(
                    origin, f"{place(index)}, column asset", "an asset's name is empty or not text"
                )
            assets.append(value)
        _check_utf8(assets, "asset", place, origin)
        (amounts,) = _converted(
            cells, sat, empty_is_zero=False, place=place, origin=origin
        ).values()
        return _pivot(holders, assets, amounts, place, origin)
    wide = _converted(cells, sat, empty_is_zero=True, place=place, origin=origin)
    return _wide(holders, wide, place, origin)


# ----------------------------------------------------------------- into Holdings


def _wide(
    holders: Sequence[str], columns: Mapping[str, Column], place: Place, origin: str
) -> Holdings:
    """A wide file's holders and columns as ``Holdings``, each column named by its asset."""
    named: dict[str, Column] = {}
    written: dict[str, str] = {}
    for column, values in columns.items():
        asset = canonical_asset(column)
        if asset in written:
            raise BalanceFileError(
                origin,
                f"column {shorten(column, _ECHO)}",
                f"it and column {shorten(written[asset], _ECHO)} both name the asset"
                f" {shorten(asset, _ECHO)}",
            )
        written[asset] = column
        named[asset] = values
    try:
        return Holdings.from_columns(holders, named)
    except InvalidArgumentError:  # a holder on two rows (checked there once): say where
        first: dict[str, int] = {}
        for index, holder in enumerate(holders):
            if holder in first:
                raise BalanceFileError(
                    origin,
                    f"{place(index)}, column holder",
                    f"holder {shorten(holder, _ECHO)!r} is already on {place(first[holder])}"
                    " (a wide file has one row per holder)",
                ) from None
            first[holder] = index
        raise


def _pivot(
    holders: Sequence[str], assets: Sequence[str], amounts: Column, place: Place, origin: str
) -> Holdings:
    """A long file's rows into one column per asset, holders in order of first appearance."""
    order = dict.fromkeys(holders)
    row_of = {holder: row for row, holder in enumerate(order)}
    canonical = {name: canonical_asset(name) for name in dict.fromkeys(assets)}
    kinds = {asset: index for index, asset in enumerate(dict.fromkeys(canonical.values()))}
    rows = np.fromiter((row_of[h] for h in holders), dtype=np.int64, count=len(holders))
    cols = np.fromiter((kinds[canonical[a]] for a in assets), dtype=np.int64, count=len(assets))
    keys = rows * max(len(kinds), 1) + cols
    if np.unique(keys).size != keys.size:
        _report_repeat(holders, [canonical[a] for a in assets], place, origin)
    columns: dict[str, Column] = {}
    for asset, kind in kinds.items():
        picked = cols == kind
        column = np.zeros(len(row_of), dtype=amounts.dtype)
        column[rows[picked]] = amounts[picked]
        columns[asset] = column
    return Holdings.from_columns(list(row_of), columns)


def _report_repeat(
    holders: Sequence[str], assets: Sequence[str], place: Place, origin: str
) -> NoReturn:
    """Raise the error for the first holder and asset that repeat, naming both places."""
    seen: dict[tuple[str, str], int] = {}
    for index, key in enumerate(zip(holders, assets, strict=True)):
        if key in seen:
            holder, asset = (shorten(part, _ECHO) for part in key)
            raise BalanceFileError(
                origin,
                place(index),
                f"holder {holder!r} has a second {asset} balance (the first is on"
                f" {place(seen[key])}); a long file gives each holder's asset once",
            )
        seen[key] = index
    raise AssertionError("a key np.unique found twice was not found twice")


# ----------------------------------------------------------------- Parquet


def _read_parquet(file: IO[bytes], origin: str, sat: bool) -> Holdings:
    from tca_gate.extras import require_extra  # noqa: PLC0415 (Parquet alone needs pyarrow)

    require_extra("audit", "pyarrow", needed_by="reading Parquet holder files")
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    try:  # ParquetFile, not read_table: its dataset layer refuses a repeated column name
        table = pq.ParquetFile(file).read()
    except (pa.ArrowException, OSError) as error:
        raise BalanceFileError(
            origin, "", f"not a Parquet file the reader can read: {error}"
        ) from None

    def place(index: int) -> str:
        return f"row {index + 1}"

    return _arrow_table(table, sat, place, origin)


def _arrow_table(table: Any, sat: bool, place: Place, origin: str) -> Holdings:
    """Holdings from a pyarrow table (Parquet's, or JSON lines' on the fast path)."""
    header = table.column_names
    layout = _layout(header, origin, "its schema")
    holders = _parquet_text(table.column("holder"), "holder", place, origin)
    if layout == "long":
        assets = _parquet_text(table.column("asset"), "asset", place, origin)
        amounts = _parquet_amounts(table.column("amount"), "amount", sat, place, origin, long=True)
        return _pivot(holders, assets, amounts, place, origin)
    columns = {
        name: _parquet_amounts(table.column(name), name, sat, place, origin, long=False)
        for name in header
        if name != "holder"
    }
    return _wide(holders, columns, place, origin)


#: A value that may be negative (or a key or text that looks like one: then read carefully).
_NEGATIVE = re.compile(rb":[ \t]*-")


def _lines_of_objects(data: bytes) -> int | None:
    """How many lines ``data`` has when each starts with ``{`` and ends with ``}`` (else
    ``None``): a JSON string holds no line break, so then no object spans two lines."""
    end = len(data)
    while end and data[end - 1] in b" \t\r\n":  # the blank end of the file, uncopied
        end -= 1
    text = np.frombuffer(data, dtype=np.uint8, count=end)
    if not text.size:
        return None
    breaks = np.flatnonzero(text == ord("\n"))
    first = np.concatenate(([0], breaks + 1))
    last = np.concatenate((breaks - 1, [text.size - 1]))
    last -= text[last] == ord("\r")
    if np.all(text[first] == ord("{")) and np.all(text[last] == ord("}")):
        return first.size
    return None


def _arrow_jsonl(data: bytes, sat: bool) -> Holdings | None:
    """Holdings from pyarrow's JSON reader; ``None`` when pyarrow is missing, or typed a
    column in a way that is not exact (a float), or anything is unusual."""
    try:
        import pyarrow as pa  # noqa: PLC0415 (in the audit extra, but JSON lines can do without)
        import pyarrow.json as arrow_json  # noqa: PLC0415
    except ImportError:
        return None
    lines = _lines_of_objects(data)
    if lines is None or (b"-" in data and _NEGATIVE.search(data)):
        return None  # the careful reader says where, or refuses the -0 pyarrow reads as 0
    try:
        table = arrow_json.read_json(pa.BufferReader(data))
        if table.num_rows != lines:
            return None  # two objects on a line: the careful reader says which
        names = set(table.column_names)
        if set(LONG_COLUMNS) < names:
            return None  # long or wide is the first object's keys: the careful reader knows
        if any(pa.types.is_null(kind) for kind in table.schema.types):
            return None  # a column of nulls only: pyarrow cannot fill it with 0
        return _arrow_table(table, sat, str, "")  # places never shown: the caller reads again
    except (BalanceFileError, pa.ArrowException, ValueError):
        return None


def _parquet_text(column: Any, name: str, place: Place, origin: str) -> list[str]:
    import pyarrow as pa  # noqa: PLC0415

    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise BalanceFileError(
            origin, f"column {name}", f"must be text (a string column), not {column.type}"
        )
    values = _texts(column, name, place, origin)
    for index, value in enumerate(values):
        if not value:
            raise BalanceFileError(origin, f"{place(index)}, column {name}", "empty or null")
    return values


def _texts(column: Any, name: str, place: Place, origin: str) -> list[str]:
    """A string column's values; a value that is not UTF-8 (Parquet does not check) is
    refused naming its row."""
    import pyarrow as pa  # noqa: PLC0415

    try:
        values: list[str] = column.to_pylist()
    except UnicodeDecodeError as error:
        for index, raw in enumerate(column.cast(pa.large_binary()).to_pylist()):
            if raw is not None and not _decodes(raw):
                where = f"{place(index)}, column {shorten(name, _ECHO)}"
                raise BalanceFileError(origin, where, f"not UTF-8 text ({error.reason})") from None
        raise
    return values


def _decodes(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


def _parquet_amounts(
    column: Any, name: str, sat: bool, place: Place, origin: str, *, long: bool
) -> Column:
    """An amount column in base units; whatever pyarrow refuses in it is the column's fault."""
    import pyarrow as pa  # noqa: PLC0415

    where = f"column {shorten(name, _ECHO)}"
    try:
        return _arrow_amount_column(column, name, sat, place, origin, long=long)
    except pa.ArrowException as error:  # a type the checks below let through, failing
        raise BalanceFileError(origin, where, f"cannot be read as amounts: {error}") from None


def _arrow_amount_column(
    column: Any, name: str, sat: bool, place: Place, origin: str, *, long: bool
) -> Column:
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    where = f"column {shorten(name, _ECHO)}"
    kind = column.type
    if column.null_count and long:
        first = int(pc.index(pc.is_null(column), True).as_py())
        raise BalanceFileError(
            origin, f"{place(first)}, {where}", "null; a long row needs its amount"
        )
    if pa.types.is_null(kind):  # no value at all: every cell is a null, and a null is 0
        return np.zeros(len(column), dtype=np.int64)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        texts = _texts(column, name, place, origin)
        (converted,) = _converted(
            {name: texts}, sat, empty_is_zero=not long, place=place, origin=origin
        ).values()
        return converted
    if not (pa.types.is_integer(kind) or pa.types.is_decimal(kind)):
        refusal = (
            "floats are inexact: store amounts as integers (base units, or whole tokens)"
            " or decimals"
            if pa.types.is_floating(kind)
            else "amounts are integer, decimal or text columns"
        )
        raise BalanceFileError(origin, where, f"a {kind} column; {refusal}")
    if column.null_count:
        column = column.fill_null(pa.scalar(0, kind))
    if pa.types.is_integer(kind):
        values = column.to_numpy()
        if values.dtype.kind == "i" and values.size and values.min() < 0:
            first = int(np.argmax(values < 0))
            raise BalanceFileError(
                origin,
                f"{place(first)}, {where}",
                f"{values[first]} is negative; a balance is 0 or more",
            )
        if sat:
            return np.asarray(values)
        if values.size and int(values.max()) > _INT64_MAX // _SCALE:  # tokens past int64 as sat
            return _column([int(v) * _SCALE for v in values.tolist()])
        return np.asarray(values, dtype=np.int64) * _SCALE
    units: list[int] = []
    for index, value in enumerate(column.to_pylist()):
        amount = _decimal(value, sat)
        if amount is None:
            problem = _decimal_problem(value, sat)
            raise BalanceFileError(origin, f"{place(index)}, {where}", problem)
        units.append(amount)
    return _column(units)


def _decimal(value: Decimal, sat: bool) -> int | None:
    """A Parquet decimal in base units, exactly (no context rounds it); ``None`` if it
    is negative, has more places than base units do, or is past any supply."""
    if _decimal_problem(value, sat):
        return None
    units, shift = _decimal_units(value, sat)
    scale: int = 10 ** abs(shift)
    return units * scale if shift >= 0 else units // scale


def _decimal_units(value: Decimal, sat: bool) -> tuple[int, int]:
    """``value``'s digits as an integer, and the power of ten that makes them base units."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # a decimal column holds finite values only
    return int("".join(map(str, digits)) or "0"), exponent + (0 if sat else 8)


def _decimal_problem(value: Decimal, sat: bool) -> str:
    """Why a Parquet decimal is not a balance ("" when it is one)."""
    if value < 0:
        return f"{value} is negative; a balance is 0 or more"
    units, shift = _decimal_units(value, sat)
    if shift < 0 and units % 10**-shift:
        limit = "a whole number of base units" if sat else "tokens with at most 8 decimal places"
        return f"{value} is not {limit}"
    if value >= (_MAX_SAT if sat else 10**MAX_DIGITS):
        return f"{value} is more than any asset's supply"
    return ""
