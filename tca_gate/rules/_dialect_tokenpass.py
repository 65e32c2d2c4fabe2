"""The ``tokenpass`` dialect: a stack read exactly as the deployed Tokenpass server did.

PHP's ``parse_str`` reads the query (``_php``); keys are then split on ``_``,
``op`` and ``stackop`` are case-sensitive, and amounts go through PHP's floats.
It never refuses content.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from urllib.parse import quote_plus

from tca_gate.wire.php import php_c_string, php_intval, php_variables, tokenpass_amount

from ._clause import INFINITE_AMOUNT, OPERATORS, Clause, Op
from ._stack import (
    Groups,
    Segments,
    StackReading,
    ascii_upper,
    check_length,
    group_clauses,
    query_segments,
)


def read_tokenpass_query(text: str, segments: Segments | None = None) -> StackReading:
    """Read a query string exactly as the deployed Tokenpass server did; never refuses content.

    ``segments`` (the grammar's split of ``text``) may be passed to save parsing again.
    """
    check_length(text)
    if segments is None or "\0" in text:
        segments = query_segments(php_c_string(text))
    parts = [
        (str(key or ""), str(value or ""), start)
        for key, equals, value, start in segments
        if key is not None or equals is not None  # PHP skips empty parts
    ]
    return StackReading(_tokenpass_groups(php_variables(parts)), text)


def read_tokenpass_pairs(pairs: Iterable[tuple[object, object]]) -> StackReading:
    """Read a mapping as Tokenpass got it: sent by ``http_build_query``, read by ``parse_str``."""
    text = "&".join(
        f"{key}={value}"
        for name, value in pairs
        for key, value in _http_build_query(_php_quote(php_text(name)), value)
    )
    return read_tokenpass_query(text)


def _http_build_query(key: str, value: object) -> Iterator[tuple[str, str]]:
    """PHP's ``http_build_query`` for one entry: nulls vanish, arrays become ``key[i]``."""
    if value is None:
        return
    if isinstance(value, Mapping) or (
        isinstance(value, (list, tuple)) and not isinstance(value, str)
    ):
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for index, item in items:
            yield from _http_build_query(f"{key}%5B{_php_quote(php_text(index))}%5D", item)
        return
    yield key, _php_quote(php_text(value))


_PHP_INT = range(-(2**63), 2**63)


def php_text(value: object) -> str:
    """A Python value as PHP would write it in a query string."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        if value in _PHP_INT:
            return str(value)
        try:  # beyond 64 bits PHP holds a float
            value = float(value)
        except OverflowError:
            value = math.inf if value > 0 else -math.inf
    if isinstance(value, float):
        return ("-INF" if value < 0 else "INF") if math.isinf(value) else repr(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "surrogateescape")
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(
        f"a rule value must be str, int, float, Decimal, bytes, a list or a mapping, "
        f"not {type(value).__name__}"
    )


# Lone surrogates that stand for no byte: urldecode leaves them as they are, so they stay raw.
_NO_BYTE = re.compile("([\ud800-\udc7f\udd00-\udfff])")


def _php_quote(text: str) -> str:
    """Percent-encode like ``http_build_query`` (``str`` holds bytes as ``surrogateescape``)."""
    return "".join(
        piece if _NO_BYTE.fullmatch(piece) else quote_plus(piece.encode("utf-8", "surrogateescape"))
        for piece in _NO_BYTE.split(text)
    )


def _tokenpass_groups(pairs: Sequence[tuple[str, str, int]]) -> Groups:
    ops: dict[int, str] = {}
    stackops: dict[int, str] = {}
    written: list[tuple[str, float, int]] = []
    for key, value, position in pairs:
        pieces = key.split("_")
        index = php_intval(pieces[1]) if len(pieces) > 1 else 0
        if pieces[0] == "op":
            ops[index] = value
        elif pieces[0] == "stackop":
            stackops[index] = ascii_upper(value)
        else:
            written.append((ascii_upper(key), tokenpass_amount(value), position))
    clauses = [
        _tokenpass_clause(asset, amount, OPERATORS.get(ops.get(i, ">="), Op.UNKNOWN), position)
        for i, (asset, amount, position) in enumerate(written)
    ]
    return group_clauses(clauses, {i for i, stackop in stackops.items() if stackop == "OR"})


def _tokenpass_clause(asset: str, amount: float, op: Op, position: int) -> Clause:
    """The clause deciding integer balances exactly as ``balance OP amount`` did in PHP.

    An infinite amount becomes ``INFINITE_AMOUNT``. A fractional one (see
    ``tokenpass_amount``) becomes the integer threshold with the same meaning:
    ``>= 10.5`` is ``>= 11``; no balance equals it, which ``== INFINITE_AMOUNT``
    also says, and every balance differs from it.
    """
    if math.isinf(amount):
        return Clause(asset, INFINITE_AMOUNT if amount > 0 else -INFINITE_AMOUNT, op, position)
    if amount.is_integer() or op is Op.UNKNOWN:
        return Clause(asset, int(amount), op, position)
    threshold = {
        Op.GE: math.ceil(amount),
        Op.GT: math.floor(amount),
        Op.LT: math.ceil(amount),
        Op.LE: math.floor(amount),
    }.get(op, INFINITE_AMOUNT)  # == and != a fraction: never and always
    return Clause(asset, threshold, op, position)
