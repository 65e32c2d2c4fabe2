"""The rule grammar, ``tca.lark`` beside this module: read once, as package data, by both
dialects (the only copy of it, in a checkout and in the wheel)."""

from __future__ import annotations

import functools
import re
from importlib import resources

from lark import Lark, Transformer

GRAMMAR_NAME = "tca.lark"


def grammar_text() -> str:
    """The grammar's source, read from the package."""
    return resources.files(__package__).joinpath(GRAMMAR_NAME).read_text(encoding="utf-8")


@functools.cache
def parser(transformer: Transformer[object, object] | None = None) -> Lark:
    """A LALR parser for the grammar's ``query`` and ``expr`` entry points.

    With a transformer, callbacks run as each rule is reduced: no tree is
    built and nothing recurses, however deep the parentheses nest.
    """
    return Lark(
        grammar_text(),
        start=["query", "expr", "lexicon"],
        parser="lalr",
        maybe_placeholders=True,
        transformer=transformer,
    )


@functools.cache
def terminal(name: str) -> re.Pattern[str]:
    """A terminal of the grammar as a compiled regular expression (for ``fullmatch``)."""
    return re.compile(parser().get_terminal(name).pattern.to_regexp())
