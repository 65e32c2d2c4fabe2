"""The rule grammar, ``grammar/tca.lark``: loaded once, used by both dialects.

The grammar file ships inside the wheel as ``tca_gate/grammar/tca.lark``; in a
source checkout it is read from the repository's ``grammar/`` directory, so
there is only ever one copy of it.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path

from lark import Lark, Transformer

GRAMMAR_NAME = "tca.lark"


def grammar_text() -> str:
    """The grammar's source, from the installed package or the source checkout."""
    packaged = resources.files("tca_gate").joinpath("grammar", GRAMMAR_NAME)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parent.parent / "grammar" / GRAMMAR_NAME
    return checkout.read_text(encoding="utf-8")


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
