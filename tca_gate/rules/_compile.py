"""``compile_rule``: any form of rule text, in either dialect, to a ``Rule``."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from ._dialect_strict import read_strict_pairs, read_strict_query
from ._dialect_tokenpass import read_tokenpass_pairs, read_tokenpass_query
from ._readable import looks_like_expression, read_expression
from ._rule import Rule
from ._stack import DIALECTS, Dialect, pairs_of

#: How many compiled rules ``compile_rule`` keeps, by their text.
CACHE_SIZE = 1024

RuleSource = str | Rule | Mapping[str, object] | Iterable[tuple[str, object]]


def compile_rule(rule: RuleSource, dialect: Dialect = "strict") -> Rule:
    """Compile a rule from query text, readable text, a mapping or a list of pairs.

    ``strict`` (the default) refuses anything doubtful with a ``RuleSyntaxError``
    that shows where; ``tokenpass`` reads query strings exactly as the deployed
    Tokenpass server did and never refuses their content. Compiled rules are
    cached by their text.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be 'strict' or 'tokenpass', not {dialect!r}")
    if isinstance(rule, Rule):  # already compiled: returned as it is, whatever the dialect
        return rule
    if isinstance(rule, str):
        return _compile_text(rule, dialect)
    if isinstance(rule, (bytes, bytearray)):
        raise TypeError("rule text must be str, not bytes: decode it first")
    if not isinstance(rule, (Mapping, Iterable)):
        raise TypeError(
            f"a rule is text, a mapping or a list of (key, value) pairs, not {type(rule).__name__}"
        )
    pairs = pairs_of(rule)
    # The key holds each value's type: True == 1 and 1.0 == 1, but strict refuses both.
    typed = tuple((key, value.__class__, value) for key, value in pairs)
    try:
        return _compile_pairs(typed, dialect)
    except TypeError:  # unhashable values: compile without the cache
        return _compile_pairs.__wrapped__(typed, dialect)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compile_text(text: str, dialect: Dialect) -> Rule:
    if dialect == "tokenpass":
        groups = read_tokenpass_query(text).groups
    elif looks_like_expression(text):
        groups = read_expression(text)
    else:
        groups = read_strict_query(text).groups
    return Rule(groups, source=text, dialect=dialect)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compile_pairs(typed: tuple[tuple[object, type, object], ...], dialect: Dialect) -> Rule:
    pairs = tuple((key, value) for key, _, value in typed)
    if dialect == "tokenpass":
        groups = read_tokenpass_pairs(pairs).groups
    else:
        groups = read_strict_pairs(pairs).groups
    return Rule(groups, source=pairs, dialect=dialect)
