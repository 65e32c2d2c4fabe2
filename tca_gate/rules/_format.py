"""Canonical text for rules: the query-string stack and the readable expression."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tca_gate.errors import RuleFormatError

from ._amounts import format_tokens
from ._clause import INFINITE_AMOUNT, Clause, Op
from ._dialect_strict import strict_asset
from ._stack import is_credential

Groups = Sequence[Sequence[Clause]]


def clause_text(clause: Clause) -> str:
    """``ASSET OP AMOUNT`` in tokens, e.g. ``LTBCOIN >= 10000``."""
    _check_writable(clause)
    return f"{clause.asset} {clause.op.symbol} {format_tokens(clause.amount, grouping=False)}"


def describe(groups: Groups) -> str:
    """Readable text for any rule, even one strict text cannot write (a label, not input)."""
    if not groups:
        return "(no clauses: denies everyone)"
    return " or ".join(" and ".join(map(_describe_clause, group)) for group in groups)


def _describe_clause(clause: Clause) -> str:
    op = "<unknown operator>" if clause.op is Op.UNKNOWN else clause.op.symbol
    return f"{clause.asset} {op} {format_tokens(clause.amount, grouping=False)}"


def to_expr(groups: Groups) -> str:
    """The readable form: ``and`` within a group, ``or`` between groups, no parentheses."""
    _check_not_empty(groups)
    return " or ".join(" and ".join(clause_text(c) for c in group) for group in groups)


def to_pairs(groups: Groups) -> list[tuple[str, str]]:
    """The stack as ``(key, value)`` pairs, in the order ``to_query`` writes them."""
    _check_not_empty(groups)
    clauses = [clause for group in groups for clause in group]
    spellings: dict[str, Iterator[str]] = {}
    pairs: list[tuple[str, str]] = []
    for clause in clauses:
        _check_writable(clause)
        spelling = next(spellings.setdefault(clause.asset, _spellings(clause.asset)), None)
        if spelling is None:
            raise RuleFormatError(
                f"{clause.asset} appears in more clauses than a query string can spell apart "
                "(each repeat needs its own upper/lower-case spelling); use to_expr()"
            )
        pairs.append((spelling, format_tokens(clause.amount, grouping=False)))
    pairs.extend(
        (f"op_{index}", clause.op.symbol)
        for index, clause in enumerate(clauses)
        if clause.op is not Op.GE
    )
    starts = [sum(map(len, groups[:g])) for g in range(1, len(groups))]
    pairs.extend((f"stackop_{index}", "OR") for index in starts)
    return pairs


def to_query(groups: Groups) -> str:
    """The query-string stack, e.g. ``LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR``.

    A ``!`` in a subasset's name is written ``%21``: ``PEPE.a!=5`` would read as
    the expression ``PEPE.a != 5``.
    """
    return "&".join(f"{key.replace('!', '%21')}={value}" for key, value in to_pairs(groups))


def _spellings(asset: str) -> Iterator[str]:
    """The spellings of ``asset`` that read back as it: as is, lower-case, then mixed case.

    A query string cannot repeat a key, but Tokenpass keys are case-sensitive and
    folded to upper case afterwards, so each repeat of an asset gets its own case.
    """
    parent, dot, child = asset.partition(".")
    letters = [i for i, ch in enumerate(parent) if ch.isalpha()]
    full = (1 << len(letters)) - 1
    for mask in [0, full, *range(1, full)] if full else [0]:
        chars = list(parent)
        for bit, position in enumerate(letters):
            if mask >> bit & 1:
                chars[position] = chars[position].lower()
        spelling = "".join(chars) + dot + child
        # Tokenpass reads lower-case op / stackop as operators; strict refuses credentials.
        if spelling.split("_")[0] not in ("op", "stackop") and not is_credential(spelling):
            yield spelling


def _check_not_empty(groups: Groups) -> None:
    if not groups:
        raise RuleFormatError("a rule with no clauses has no text form (it lets no one in)")


def _check_writable(clause: Clause) -> None:
    if clause.op is Op.UNKNOWN:
        raise RuleFormatError(
            f"the clause on {clause.asset} has an operator Tokenpass does not know "
            "(it never passes); strict text cannot write it"
        )
    if strict_asset(clause.asset) != clause.asset:
        raise RuleFormatError(f"{clause.asset!r} is not an asset name strict text can write")
    if clause.amount < 0:
        raise RuleFormatError(
            f"the clause on {clause.asset} asks for a negative amount; strict text cannot write it"
        )
    if clause.amount >= INFINITE_AMOUNT:
        raise RuleFormatError(f"the clause on {clause.asset} asks for an infinite amount")
