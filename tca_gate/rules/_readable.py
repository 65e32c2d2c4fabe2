"""Readable rules, ``LTBCOIN >= 10000 and LTBSTAFF >= 1 or TOKENLY > 0``.

``and`` binds tighter than ``or``, the stack's own grouping. Parentheses are
expanded to OR-of-ANDs as the parser reduces them, within ``MAX_EXPANSION``.
"""

from __future__ import annotations

import itertools
import re

from lark import Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from tca_gate.errors import RuleSyntaxError, shorten

from ._clause import OPERATORS, Clause, Op
from ._dialect_strict import (
    AMOUNT_EXPECTED,
    ASSET_FORMS,
    amount_problem,
    asset_problem,
    strict_amount,
    strict_asset,
)
from ._grammar import parser
from ._stack import Groups, check_length, is_credential

#: The most clauses that distributing one ``and`` over parentheses may produce.
MAX_EXPANSION = 10_000
#: The most clauses a readable rule may expand to in all (a flat rule of 256 KiB has fewer).
MAX_CLAUSES = 50_000

_COMPARATORS = tuple(op.symbol for op in Op if op is not Op.UNKNOWN)
_AMBIGUOUS = {
    "=": "'=' is ambiguous (in a query string it means >=): write == or >=",
    "!": "write != for 'not equal to'",
    "=>": "did you mean >=?",
    "=<": "did you mean <=?",
    "<>": "did you mean !=?",
    "===": "did you mean ==?",
}
_TERMINAL_NAMES = {
    "NAME": "an asset name",
    "COMPARATOR": "an operator (>=, >, ==, !=, <, <=)",
    "NUMBER": "an amount",
    "_AND": "and",
    "_OR": "or",
    "AND": "and",
    "OR": "or",
    "LPAR": "(",
    "RPAR": ")",
    "$END": "the end of the rule",
    "RAW_KEY": "an asset name",
}


# While parsing, OR-of-ANDs are lists of lists, grown in place: each value the
# parser reduces is used exactly once, and chains stay linear however long.
_Dnf = list[list[Clause]]


class _Expander(Transformer[Token, object]):
    """Builds OR-of-ANDs bottom-up while the parser reduces, so depth never recurses."""

    def comparison(self, children: list[Token]) -> _Dnf:
        name, comparator, number = children
        return [[_clause(name, comparator, number)]]

    def conjunction(self, children: list[_Dnf]) -> _Dnf:
        result = children[0]
        for operand in children[1:]:
            result = _and(result, operand)
        return result

    def disjunction(self, children: list[_Dnf]) -> _Dnf:
        result = children[0]
        for operand in children[1:]:
            result.extend(operand)
            _check_total(result)
        return result

    def expr(self, children: list[_Dnf]) -> Groups:
        return tuple(tuple(group) for group in children[0])


_EXPANDER = _Expander()


def _clause(name: Token, comparator: Token, number: Token) -> Clause:
    if is_credential(str(name)):
        raise _at(
            name,
            f"{shorten(str(name))} is a credential, not an asset",
            hint=f"pass {shorten(str(name))} separately",
        )
    asset = strict_asset(str(name))
    if asset is None:
        raise _at(
            name,
            f"{shorten(str(name))!r} is not {asset_problem(str(name))}",
            expected=(ASSET_FORMS[0],),
        )
    op = OPERATORS.get(str(comparator)) if str(comparator) in _COMPARATORS else None
    if op is None:
        raise _at(
            comparator,
            f"{str(comparator)!r} is not an operator here",
            expected=_COMPARATORS,
            hint=_AMBIGUOUS.get(str(comparator)),
        )
    amount = strict_amount(str(number))
    if amount is None:
        problem, hint = amount_problem(str(number))
        raise _at(
            number,
            f"the amount for {asset} must be a plain decimal number, not {problem}",
            expected=AMOUNT_EXPECTED,
            hint=hint,
        )
    return Clause(asset, amount, op, position=name.start_pos)


def _and(left: _Dnf, right: _Dnf) -> _Dnf:
    """``left and right`` distributed into OR-of-ANDs, refusing past ``MAX_EXPANSION`` clauses."""
    left_size, right_size = sum(map(len, left)), sum(map(len, right))
    size = len(right) * left_size + len(left) * right_size
    if size > MAX_EXPANSION and size > left_size + right_size:
        raise RuleSyntaxError(
            f"expanding the parentheses would make {size:,} clauses; "
            f"the limit is {MAX_EXPANSION:,}",
            hint="factor the rule differently, or split it into several rules",
        )
    if len(right) == 1:
        for group in left:
            group.extend(right[0])
        result = left
    else:
        result = [a + b for a, b in itertools.product(left, right)]
    _check_total(result)
    return result


def _check_total(groups: _Dnf) -> None:
    if len(groups) > 1 and sum(map(len, groups)) > MAX_CLAUSES:
        raise RuleSyntaxError(
            f"the rule expands to more than {MAX_CLAUSES:,} clauses",
            hint="factor the rule differently, or split it into several rules",
        )


def _at(
    token: Token,
    message: str,
    *,
    expected: tuple[str, ...] = (),
    hint: str | None = None,
) -> RuleSyntaxError:
    return RuleSyntaxError(
        message,
        position=token.start_pos,
        length=len(token),
        key=str(token),
        expected=expected,
        hint=hint,
    )


def read_expression(text: str) -> Groups:
    """Parse a readable expression into OR-of-ANDs groups of clauses."""
    check_length(text)
    try:
        groups = parser(_EXPANDER).parse(text, start="expr")
    except RuleSyntaxError as error:
        error.text = text
        raise
    except UnexpectedInput as error:
        raise _unexpected(error, text) from None
    assert isinstance(groups, tuple)
    return groups


_WORD = re.compile(r"[()]|[^\s()]+")


_KEYWORDS = frozenset({"and", "or", "not"})


def _keyword_before(text: str, position: int) -> tuple[int, str] | None:
    """The word just before ``position`` when it is ``and``, ``or`` or ``not``."""
    words = list(re.finditer(r"[^\s()]+", text[:position]))
    if words and words[-1].group().lower() in _KEYWORDS:
        return words[-1].start(), words[-1].group()
    return None


def _unexpected(error: UnexpectedInput, text: str) -> RuleSyntaxError:
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        expected, position = set(error.expected), error.token.start_pos or 0
    elif isinstance(error, UnexpectedCharacters):
        expected, position = set(error.allowed or ()), error.pos_in_stream or 0
    else:
        assert isinstance(error, (UnexpectedToken, UnexpectedEOF))
        expected, position = set(error.expected), len(text)
    before = _keyword_before(text, position)
    if before is not None and "COMPARATOR" in expected:  # a keyword was read as an asset name
        position, word_text = before
        hint = (
            "'not' is not part of the rule language: use != or <"
            if word_text.lower() == "not"
            else None
        )
        return RuleSyntaxError(
            f"unexpected {word_text!r}: a comparison such as LTBCOIN >= 10 was expected",
            text=text,
            position=position,
            length=len(word_text),
            expected=[_TERMINAL_NAMES["NAME"], "("],
            hint=hint,
        )
    word = _WORD.match(text, position)
    found = repr(shorten(word.group())) if word else "end of the rule"
    names = sorted({_TERMINAL_NAMES.get(name, name) for name in expected})
    hint = None
    if "COMPARATOR" in expected and "NUMBER" not in expected:
        hint = "every asset needs an operator and an amount, e.g. LTBCOIN >= 10000"
    return RuleSyntaxError(
        f"unexpected {found}",
        text=text,
        position=position,
        length=len(word.group()) if word else 1,
        expected=names,
        hint=hint,
    )


_LONE_EQUALS = re.compile(r"(?<![<>=!])=(?!=)")


def looks_like_expression(text: str) -> bool:
    """Whether strict text is a readable expression rather than a query string.

    A lone ``&`` is the stack's separator, and text without spaces holding a lone
    ``=`` (``LTBCOIN=5``, where ``=`` means at least) is a stack. Anything else,
    such as ``LTBCOIN >= 5``, ``LTBCOIN==5`` or ``PEPE.a!=5``, is an expression.
    """
    stripped = text.strip()
    if not stripped or "&" in stripped.replace("&&", ""):
        return False
    return bool(re.search(r"\s", stripped)) or not _LONE_EQUALS.search(stripped)
