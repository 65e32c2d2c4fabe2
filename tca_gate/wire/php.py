"""Exact Python re-implementations of the PHP primitives Tokenpass used.

The deployed Tokenpass server read TCA rule query strings with PHP's
``parse_str`` and turned amounts into satoshi integers with
``round(floatval($v) * 100000000)``.  The functions here reproduce PHP 8.2
(64-bit, default ini settings) bit for bit; they were checked against real
PHP with the vectors in ``tests/fixtures/php/vectors.json``.

PHP works on byte strings, these functions on ``str``.  The byte view of a
``str`` is its UTF-8 encoding, where the surrogates U+DC80..U+DCFF stand for
the raw bytes 0x80..0xFF (Python's ``surrogateescape``); bytes produced by
decoding are turned back into ``str`` the same way, so nothing is lost and
nothing raises.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable

__all__ = [
    "MAX_INPUT_NESTING_LEVEL",
    "MAX_INPUT_VARS",
    "php_c_string",
    "php_floatval",
    "php_intval",
    "php_json_encode",
    "php_parse_str",
    "php_round",
    "php_urldecode",
    "php_variables",
    "tokenpass_amount",
]

#: PHP's ``max_input_vars`` default: ``parse_str`` stops after this many parts.
MAX_INPUT_VARS = 1000
#: PHP's ``max_input_nesting_level`` default (``a[b][c]...`` depth).
MAX_INPUT_NESTING_LEVEL = 64

# ---------------------------------------------------------------------------
# urldecode

# A run of bytes: %XX escapes and surrogate-escaped raw bytes.  Literal
# characters outside a run are complete UTF-8 sequences, so decoding each run
# on its own gives the same text as decoding PHP's whole byte string.
_BYTE_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2}|[\udc80-\udcff])+")


def _decode_run(match: re.Match[str]) -> str:
    run = match.group()
    out = bytearray()
    i = 0
    while i < len(run):
        if run[i] == "%":
            out.append(int(run[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(ord(run[i]) - 0xDC00)
            i += 1
    return out.decode("utf-8", "surrogateescape")


def php_urldecode(text: str) -> str:
    """PHP ``urldecode``: ``+`` is a space, ``%XX`` a byte, a stray ``%`` stays."""
    if "%" not in text and "+" not in text:
        return text
    return _BYTE_RUN.sub(_decode_run, text.replace("+", " "))


# ---------------------------------------------------------------------------
# parse_str

_UNCLOSED_NAME = str.maketrans(" .[", "___")


def php_c_string(text: str) -> str:
    """``text`` up to its first NUL, as PHP reads a query (a C string)."""
    nul = text.find("\0")
    return text if nul < 0 else text[:nul]


def php_variables(parts: Iterable[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """PHP ``parse_str`` on flat keys, given the query already split into parts.

    ``parts`` are the non-empty ``&``-separated parts of the query (cut at its
    first NUL, see ``php_c_string``), each as ``(raw key, raw value, position)``
    split on its first ``=``. The result is ``(key, value, position)`` triples
    in PHP's final array order; ``position`` is that of the part that created
    the key.  As in PHP 8.2 with default ini settings:

    * the query is cut at its first NUL character (PHP treats it as a C string);
    * it is split on ``&`` and empty parts are skipped; only the first
      ``MAX_INPUT_VARS`` (1000) non-empty parts are read, the rest ignored;
    * each part is split on its first ``=`` (no ``=``: value ``""``), and key
      and value are URL-decoded; the value is kept whole (NULs included);
    * the decoded key is cut at its first NUL, leading spaces (only U+0020)
      are removed, then ``.`` and space become ``_`` up to the first ``[``;
      a key that is empty at that point (``""``, ``" "``, ``"[a]"``) is dropped;
    * a ``[`` with no ``]`` anywhere after it is not an array: it becomes ``_``
      and so does every later space, ``.`` and ``[`` (``a[b.c`` -> ``a_b_c``);
    * a repeated key keeps its place (and position) and takes the last value.

    Keys with a closed bracket (``a[]``, ``a[x]``, ``a[x]junk``) make PHP
    arrays.  They are handled exactly as PHP does at the top level and then
    left out: ``a=1&a[x]=2`` turns ``a`` into an array, so ``a`` is omitted;
    ``a[x]=2&a=1`` yields ``("a", "1", <position of a[x]=2>)``.  A part with
    more than ``MAX_INPUT_NESTING_LEVEL`` (64) bracket groups deletes its top
    key altogether (a later part may then create it again, at a new position).
    """
    # key -> (value, position); value None means "PHP made this an array".
    entries: dict[str, tuple[str | None, int]] = {}
    for count, (raw_key, raw_value, position) in enumerate(parts, 1):
        if count > MAX_INPUT_VARS:
            break
        _register(entries, php_urldecode(raw_key), php_urldecode(raw_value), position)
    return [(key, value, pos) for key, (value, pos) in entries.items() if value is not None]


def _variable_name(key: str) -> tuple[str, str, int]:
    """The key as PHP reads it (cut at a NUL, leading spaces gone), its variable name
    (``.`` and space as ``_`` up to the first ``[``; empty: dropped) and that ``[``'s
    place (-1: none)."""
    nul = key.find("\0")
    if nul >= 0:
        key = key[:nul]
    key = key.lstrip(" ")
    bracket = key.find("[")
    head = key if bracket < 0 else key[:bracket]
    return key, head.replace(" ", "_").replace(".", "_"), bracket


def _register(
    entries: dict[str, tuple[str | None, int]], key: str, value: str, position: int
) -> None:
    """Mirror ``php_register_variable_ex`` for the top level of the array."""
    key, name, bracket = _variable_name(key)
    if not name:
        return
    new_value: str | None = value
    if bracket >= 0:
        opening = bracket
        level = 1
        while True:
            if level > MAX_INPUT_NESTING_LEVEL:
                entries.pop(name, None)
                return
            closing = key.find("]", opening + 1)
            if closing < 0:
                if level == 1:  # not an index after all: the '[' becomes '_'
                    name = name + "_" + key[bracket + 1 :].translate(_UNCLOSED_NAME)
                break  # deeper down, the top key is already an array
            new_value = None
            if key[closing + 1 : closing + 2] != "[":
                break
            opening = closing + 1
            level += 1
    old = entries.get(name)
    entries[name] = (new_value, position if old is None else old[1])


class _PhpArray:
    """A PHP array as ``parse_str`` fills it: ordered keys (numeric strings become ints)
    and the next index ``[]`` appends at (PHP 8.2: from 0, moved past each larger int)."""

    __slots__ = ("items", "next_index")

    def __init__(self) -> None:
        self.items: dict[int | str, object] = {}
        self.next_index = 0

    def set(self, key: str, value: object) -> None:
        index = _php_key(key)
        self.items[index] = value
        if isinstance(index, int) and index >= self.next_index:
            self.next_index = min(index + 1, _LONG_MAX)

    def child(self, key: str | None) -> _PhpArray:
        """The array at ``key`` (``None``: a new one appended), made one if it is not."""
        if key is None:
            made = _PhpArray()
            self.append(made)
            return made
        found = self.items.get(_php_key(key))
        if isinstance(found, _PhpArray):
            return found
        made = _PhpArray()
        self.set(key, made)
        return made

    def append(self, value: object) -> None:
        if self.next_index in self.items:  # PHP_INT_MAX already taken: PHP drops it
            return
        self.items[self.next_index] = value
        self.next_index = min(self.next_index + 1, _LONG_MAX)

    def store(self, key: str | None, value: object) -> None:
        if key is None:
            self.append(value)
        else:
            self.set(key, value)

    def plain(self) -> dict[str, object]:
        return {
            str(key): value.plain() if isinstance(value, _PhpArray) else value
            for key, value in self.items.items()
        }


_NUMERIC_KEY = re.compile(r"-?[1-9][0-9]{0,18}|0")


def _php_key(key: str) -> int | str:
    """PHP's array key for ``key``: a canonical decimal integer in range is an int."""
    if _NUMERIC_KEY.fullmatch(key):
        number = int(key)
        if _LONG_MIN <= number <= _LONG_MAX:
            return number
    return key


def php_parse_str(query: str) -> dict[str, object]:
    """PHP ``parse_str`` whole, arrays included: ``a[]=1&a[]=2&b[x][y]=3`` gives
    ``{"a": {"0": "1", "1": "2"}, "b": {"x": {"y": "3"}}}``.

    PHP arrays become dicts with string keys, in PHP's order (a list is a dict keyed
    ``"0"``, ``"1"``, ...); the top level follows ``php_variables`` exactly, which
    documents the rules. Nested keys are taken as written (no ``.`` or space change).
    """
    top = _PhpArray()
    count = 0
    for part in php_c_string(query).split("&"):
        if not part:
            continue
        count += 1
        if count > MAX_INPUT_VARS:
            break
        raw_key, _, raw_value = part.partition("=")
        _register_nested(top, php_urldecode(raw_key), php_urldecode(raw_value))
    return top.plain()


def _register_nested(top: _PhpArray, key: str, value: str) -> None:
    """Mirror ``php_register_variable_ex``, nested arrays and all."""
    key, name, bracket = _variable_name(key)
    if not name:
        return
    if bracket < 0:
        top.set(name, value)
        return
    table, opening, level = top, bracket, 0
    index_or_append: str | None = name
    while True:
        level += 1
        if level > MAX_INPUT_NESTING_LEVEL:
            top.items.pop(_php_key(name), None)
            return
        start = opening + 1
        if key[start : start + 1] == "]":
            inner: str | None = None
            closing = start
        else:
            closing = key.find("]", start)
            if closing < 0:
                if level == 1:  # not an index after all: the '[' becomes '_'
                    top.set(name + "_" + key[start:].translate(_UNCLOSED_NAME), value)
                    return
                break  # deeper down: stored at the index reached so far
            inner = key[start:closing]
        table = table.child(index_or_append)
        index_or_append = inner
        opening = closing + 1
        if key[opening : opening + 1] != "[":
            break
    table.store(index_or_append, value)


def php_json_encode(value: object) -> str:
    """PHP ``json_encode($value, JSON_UNESCAPED_SLASHES | JSON_FORCE_OBJECT)``, as Tokenly's
    signers write parameters: every list, at any depth, as an object keyed ``"0"``,
    ``"1"``, ... (``[]`` as ``{}``), non-ASCII as ``\\uXXXX``, slashes as they are.

    Raises ``ValueError`` past PHP's default depth (512) or for a value JSON cannot hold.
    """
    return json.dumps(_force_object(value), separators=(",", ":"), ensure_ascii=True)


#: PHP's default depth limit for ``json_encode``/``json_decode``.
JSON_MAX_DEPTH = 512


def _force_object(value: object) -> object:
    """A copy of ``value`` with every list a dict keyed by position (no recursion)."""
    root: dict[str, object] = {}
    stack: list[tuple[dict[str, object], str, object, int]] = [(root, "", value, 0)]
    while stack:
        parent, key, item, depth = stack.pop()
        if isinstance(item, (list, tuple, dict)):
            if depth >= JSON_MAX_DEPTH:
                raise ValueError(f"nested deeper than {JSON_MAX_DEPTH} levels")
            made: dict[str, object] = {}
            parent[key] = made
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for inner_key, inner in pairs:  # placeholders keep the order
                made[str(inner_key)] = None
                stack.append((made, str(inner_key), inner, depth + 1))
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("PHP's json_encode cannot write inf or nan")
        else:
            parent[key] = item
    return root[""]


# ---------------------------------------------------------------------------
# intval / floatval

_WHITESPACE = " \t\n\r\v\f"
_LONG_MAX = 2**63 - 1
_LONG_MIN = -(2**63)
_MAX_LENGTH_OF_LONG = 20
_LONG_MIN_DIGITS = "9223372036854775808"
_STRTOD_MAX_EXP = 19999
# What zend_strtod reads: mantissa with at least one digit, optional exponent.
_STRTOD = re.compile(r"([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(?:[eE]([+-]?)0*([0-9]+))?")


def _skip_whitespace(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WHITESPACE:
        i += 1
    return i


def _strtod(text: str, i: int) -> float:
    """``zend_strtod`` of ``text[i:]`` (correctly rounded, exponent capped)."""
    match = _STRTOD.match(text, _skip_whitespace(text, i))
    if match is None:
        return 0.0
    mantissa, exp_sign, exp_digits = match.groups()
    if not exp_digits:
        return float(mantissa)
    # zend_strtod clamps an explicit exponent above 19999 to 19999.
    exponent = _STRTOD_MAX_EXP if len(exp_digits) > 5 else min(int(exp_digits), _STRTOD_MAX_EXP)
    return float(f"{mantissa}e{exp_sign}{exponent}")


def _dval_to_lval_cap(value: float) -> int:
    """``zend_dval_to_lval_cap``: truncate, saturate, non-finite is 0."""
    if not math.isfinite(value):
        return 0
    if value >= 9223372036854775808.0 or value < -9223372036854775808.0:
        return _LONG_MAX if value > 0 else _LONG_MIN
    return int(value)


def _char(text: str, i: int) -> str:
    return text[i] if i < len(text) else ""


def _is_digit(c: str) -> bool:
    return len(c) == 1 and "0" <= c <= "9"


def php_intval(text: str) -> int:
    """PHP 8 ``intval`` of a string (``_is_numeric_string_ex``, errors allowed)."""
    start = _skip_whitespace(text, 0)
    ptr = start
    if _char(text, ptr) in ("-", "+"):
        ptr += 1
    first = _char(text, ptr)
    if _is_digit(first):
        while _char(text, ptr) == "0":
            ptr += 1
        digits = 0
        accumulated = 0
        is_double = False
        while digits < _MAX_LENGTH_OF_LONG:
            c = _char(text, ptr)
            if _is_digit(c):
                accumulated = accumulated * 10 + ord(c) - 48
                digits += 1
                ptr += 1
                continue
            if c == ".":
                is_double = True
            elif c in ("e", "E"):
                e = ptr + 1
                if _char(text, e) in ("-", "+"):
                    ptr = e  # sic: PHP moves ptr onto the exponent sign here
                    e += 1
                is_double = _is_digit(_char(text, e))
            break
        if is_double or digits >= _MAX_LENGTH_OF_LONG:
            return _dval_to_lval_cap(_strtod(text, start))
        if digits == _MAX_LENGTH_OF_LONG - 1:
            # strcmp() against the digits of LONG_MIN, from ptr - digits on.
            tail = text[ptr - digits :].split("\0", 1)[0]
            neg = text[start] == "-"
            if not (tail < _LONG_MIN_DIGITS or (tail == _LONG_MIN_DIGITS and neg)):
                return _dval_to_lval_cap(_strtod(text, start))
        if text[start] == "-":
            accumulated = -accumulated
        # C cast of the unsigned accumulator to a signed 64-bit long.
        accumulated &= 2**64 - 1
        return accumulated - 2**64 if accumulated > _LONG_MAX else accumulated
    if first == "." and _is_digit(_char(text, ptr + 1)):
        return _dval_to_lval_cap(_strtod(text, start))
    return 0


def php_floatval(text: str) -> float:
    """PHP ``floatval`` of a string: the longest numeric prefix, else 0.0."""
    return _strtod(text, 0)


# ---------------------------------------------------------------------------
# round

_POWERS_OF_TEN = tuple(float(10**n) for n in range(23))


def _intpow10(power: int) -> float:
    """``php_intpow10``: exact table for 0..22, ``pow`` otherwise."""
    if power < 0 or power > 22:
        return math.pow(10.0, float(power))
    return _POWERS_OF_TEN[power]


def _round_helper(value: float) -> float:
    """``php_round_helper`` in ``PHP_ROUND_HALF_UP`` mode."""
    if value >= 0.0:
        return float(math.floor(value + 0.5))
    result = float(math.ceil(value - 0.5))
    return -0.0 if result == 0.0 else result


def php_round(value: float) -> float:
    """PHP 5.3-8.3 ``round($value)`` (0 places, with 15-digit pre-rounding)."""
    if not math.isfinite(value) or value == 0.0:
        return value
    places = 0
    precision_places = 14 - math.floor(math.log10(abs(value)))
    f1 = _intpow10(abs(places))
    if precision_places > places and precision_places - 15 < places:
        tmp = _round_helper(value * _intpow10(abs(precision_places)))
        tmp = tmp / _intpow10(abs(places - precision_places))
    else:
        tmp = value * f1
        if abs(tmp) >= 1e15:
            return value
    tmp = _round_helper(tmp)
    return tmp * f1


# ---------------------------------------------------------------------------
# Tokenpass amounts

#: Stand-in for PHP's INF: more than any finite double, so comparisons agree.


def tokenpass_amount(value: str) -> float:
    """Tokenpass's ``round(floatval($value) * 100000000)``: the float PHP compared against.

    It is a whole number, except that PHP's ``round`` leaves values of 10^15 and
    more as they are, so amounts of ten million tokens and up can keep a fraction
    of a base unit; it may also be infinite.
    """
    # NaN cannot arise: floatval never yields NaN (zend_strtod reads no "nan"
    # and overflows to +-INF), a finite or infinite value times 1e8 is never
    # NaN (no INF * 0), and round() maps INF to INF and finite to finite.
    return php_round(php_floatval(value) * 100000000)
