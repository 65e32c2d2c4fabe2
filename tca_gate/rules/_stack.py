"""Rule stacks, ``LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR``: what both dialects share.

A stack is a list of asset clauses; ``op_N`` sets clause N's operator and
``stackop_N=OR`` makes clause N start a new group. The query text is split by
the grammar's ``query`` entry point (``_strict`` and ``_tokenpass_dialect`` read the
pieces); a mapping supplies the same pairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from lark import Token, Transformer

from tca_gate.errors import RuleSyntaxError
from tca_gate.wire.php import php_urldecode

from ._clause import Clause
from ._grammar import parser

Dialect = Literal["strict", "tokenpass"]
DIALECTS: frozenset[str] = frozenset(get_args(Dialect))
Groups = tuple[tuple[Clause, ...], ...]

#: The longest rule text either dialect reads: room for stacks of 20,000 clauses
#: (the deployed server sat behind URL-length limits of a few kilobytes).
MAX_RULE_LENGTH = 256 * 1024

#: Keys that carry credentials or transport parameters, never rule content.
CREDENTIAL_KEYS = frozenset(
    {
        "oauth_token",
        "access_token",
        "refresh_token",
        "client_id",
        "client_secret",
        "api_token",
        "api_key",
        "apikey",
        "secret",
        "nonce",
        "signature",
        "scope",
        "state",
        "redirect_uri",
        "response_type",
        "grant_type",
        "code",
        "username",
        "password",
    }
)


@dataclass(frozen=True, slots=True)
class Pair:
    """One ``key=value`` of a stack, decoded, with where its key was written."""

    key: str
    value: str | None
    position: int
    value_position: int
    raw_key_length: int
    raw_value_length: int


@dataclass(frozen=True, slots=True)
class StackNote:
    """Something the strict reader noticed that is legal but worth a lint warning."""

    code: str
    message: str
    position: int


@dataclass(frozen=True, slots=True)
class StackReading:
    """A stack read into groups, with the text errors and lint point into."""

    groups: Groups
    text: str
    notes: tuple[StackNote, ...] = ()


class _Segments(Transformer[Token, object]):
    """Turns the ``query`` parse into ``(key, "=", value)`` token triples and ``&`` tokens."""

    def segment(self, children: list[Token | None]) -> tuple[Token | None, ...]:
        return tuple(children)

    def query(self, children: list[object]) -> list[object]:
        return children


_SEGMENTS = _Segments()


Segments = list[tuple[Token | None, Token | None, Token | None, int]]


def query_segments(text: str) -> Segments:
    """The grammar's split of query text: ``(key, "=", value, start)`` per ``&``-separated part.

    Pieces are raw (not yet percent-decoded) tokens, ``None`` where absent.
    """
    segments: Segments = []
    start = 0
    items = parser(_SEGMENTS).parse(text, start="query")
    assert isinstance(items, list)
    for item in items:
        if isinstance(item, Token):  # the "&" between segments
            start = item.end_pos or 0
            continue
        assert isinstance(item, tuple)
        raw_key, equals, raw_value = item
        segments.append((raw_key, equals, raw_value, start))
    return segments


def split_query(text: str, segments: Segments | None = None) -> list[Pair]:
    """Split query text the way PHP does (raw ``&``, then the first ``=``), decoding each piece."""
    pairs: list[Pair] = []
    for raw_key, equals, raw_value, start in segments or query_segments(text):
        key = php_urldecode(str(raw_key)) if raw_key is not None else ""
        value_at = (equals.end_pos or 0) if equals is not None else start + len(raw_key or "")
        pairs.append(
            Pair(
                key=key,
                value=None if equals is None else php_urldecode(str(raw_value or "")),
                position=start,
                value_position=value_at,
                raw_key_length=len(raw_key or ""),
                raw_value_length=len(raw_value or ""),
            )
        )
    return pairs


def check_length(text: str) -> None:
    if len(text) > MAX_RULE_LENGTH:
        raise RuleSyntaxError(
            f"the rule text is {len(text):,} characters; the limit is {MAX_RULE_LENGTH:,}"
        )


def is_credential(key: str) -> bool:
    """Whether a key names a credential or transport parameter rather than an asset.

    One-word names (``scope``, ``code``, ...) count only as written in lower case,
    the way transport parameters are: ``SCOPE`` is a valid asset name.
    """
    return key in CREDENTIAL_KEYS or ("_" in key and key.lower() in CREDENTIAL_KEYS)


_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def ascii_upper(text: str) -> str:
    """PHP's ``strtoupper``: ASCII letters only (``str.upper`` would also fold ``ß`` to ``SS``)."""
    return text.translate(_ASCII_UPPER)


def group_clauses(clauses: Sequence[Clause], or_at: set[int]) -> Groups:
    """Clause 0 and each clause with ``stackop=OR`` start a group; the rest join the last one."""
    groups: list[list[Clause]] = []
    for index, clause in enumerate(clauses):
        if index == 0 or index in or_at:
            groups.append([clause])
        else:
            groups[-1].append(clause)
    return tuple(tuple(group) for group in groups)


def pairs_of(rule: Mapping[object, object] | Iterable[object]) -> tuple[tuple[object, object], ...]:
    """A mapping's items, or a sequence of ``(key, value)`` pairs, checked for shape."""
    if isinstance(rule, Mapping):
        return tuple(rule.items())
    pairs: list[tuple[object, object]] = []
    for index, item in enumerate(rule):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise RuleSyntaxError(
                f"a rule given as a list must hold (key, value) pairs; entry {index} is {item!r}"
            )
        pairs.append((item[0], item[1]))
    return tuple(pairs)
