"""Readable rules, ``LTBCOIN >= 10000 and LTBSTAFF >= 1 or TOKENLY > 0``.

``and`` binds tighter than ``or``, the stack's own grouping. Parentheses are
expanded to OR-of-ANDs as the parser reduces them, within ``MAX_EXPANSION``.
"""

from __future__ import annotations

import itertools

from lark import Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ._clause import OPERATORS, Clause
from ._errors import RuleSyntaxError
from ._grammar import parser
from ._stack import (
    AMOUNT_EXPECTED,
    CREDENTIAL_KEYS,
    Groups,
    amount_problem,
    asset_problem,
    check_length,
    strict_amount,
    strict_asset,
)

#: The most clauses that expanding parentheses may produce.
MAX_EXPANSION = 10_000

_COMPARATORS = (">=", ">", "==", "!=", "<", "<=")
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
}


class _Expander(Transformer[Token, Groups]):
    """Builds OR-of-ANDs bottom-up while the parser reduces, so depth never recurses."""

    def comparison(self, children: list[Token]) -> Groups:
        name, comparator, number = children
        return ((_clause(name, comparator, number),),)

    def conjunction(self, children: list[Groups]) -> Groups:
        result = children[0]
        for operand in children[1:]:
            result = _and(result, operand)
        return result

    def disjunction(self, children: list[Groups]) -> Groups:
        return tuple(itertools.chain.from_iterable(children))

    def expr(self, children: list[Groups]) -> Groups:
        return children[0]


_EXPANDER = _Expander()


def _clause(name: Token, comparator: Token, number: Token) -> Clause:
    asset = strict_asset(str(name))
    if asset is None:
        if str(name).lower() in CREDENTIAL_KEYS:
            raise _at(name, f"{name} is a credential, not an asset", hint=f"pass {name} separately")
        raise _at(name, f"{str(name)!r} is not {asset_problem(str(name))}")
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


def _and(left: Groups, right: Groups) -> Groups:
    """``left and right`` distributed into OR-of-ANDs, refusing past ``MAX_EXPANSION`` clauses."""
    size = len(right) * sum(map(len, left)) + len(left) * sum(map(len, right))
    if size > MAX_EXPANSION and size > sum(map(len, left)) + sum(map(len, right)):
        raise RuleSyntaxError(
            f"expanding the parentheses would make {size:,} clauses; "
            f"the limit is {MAX_EXPANSION:,}",
            hint="factor the rule differently, or split it into several rules",
        )
    return tuple(a + b for a, b in itertools.product(left, right))


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


def _unexpected(error: UnexpectedInput, text: str) -> RuleSyntaxError:
    expected: set[str] = set()
    if isinstance(error, UnexpectedToken):
        expected = set(error.expected)
        found = "the end of the rule" if error.token.type == "$END" else repr(str(error.token))
        position = len(text) if error.token.type == "$END" else error.token.start_pos
        length = max(1, len(error.token))
    elif isinstance(error, UnexpectedCharacters):
        expected = set(error.allowed or ())
        position, length = error.pos_in_stream or 0, 1
        found = repr(text[position])
    else:
        assert isinstance(error, UnexpectedEOF)
        expected = set(error.expected)
        found, position, length = "the end of the rule", len(text), 1
    names = sorted({_TERMINAL_NAMES.get(name, name) for name in expected})
    hint = None
    if "COMPARATOR" in expected and "NUMBER" not in expected:
        hint = "every asset needs an operator and an amount, e.g. LTBCOIN >= 10000"
    return RuleSyntaxError(
        f"unexpected {found}",
        text=text,
        position=position,
        length=length,
        expected=names,
        hint=hint,
    )


def looks_like_expression(text: str) -> bool:
    """Whether strict text is a readable expression rather than a query string.

    A lone ``&`` is the stack's separator; operators, spaces, parentheses and
    ``||`` belong to expressions. ``LTBCOIN=5`` is a stack (there ``=`` means
    at least), so it never reads as an expression.
    """
    if "&" in text.replace("&&", ""):
        return False
    return any(mark in text for mark in " \t\r\n()<>!|") or "==" in text
