"""Lint: rules that are legal but probably not what their author meant."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import NamedTuple

from tca_gate.errors import RuleSyntaxError, shorten
from tca_gate.wire.php import MAX_INPUT_VARS, php_c_string, tokenpass_amount

from ._amounts import format_tokens
from ._clause import OPERATORS, Clause, Op
from ._dialect_strict import read_strict_pairs as _read_strict_pairs
from ._dialect_strict import read_strict_query, render_pairs, strict_amount, strict_asset
from ._dialect_tokenpass import php_text, read_tokenpass_pairs, read_tokenpass_query
from ._format import describe
from ._grammar import terminal
from ._normal_form import allowed, covering_groups, group_form
from ._readable import looks_like_expression
from ._stack import (
    Groups,
    Pair,
    StackReading,
    ascii_upper,
    is_credential,
    query_segments,
    split_query,
)


@dataclass(frozen=True, slots=True)
class LintWarning:
    """One finding: a stable ``code``, a sentence, and where in the text (when known)."""

    code: str
    message: str
    position: int | None = None

    def __str__(self) -> str:
        where = f" (at character {self.position})" if self.position is not None else ""
        return f"{self.code}: {self.message}{where}"


#: Every code ``lint`` can report, with what it means (read-only).
LINT_CODES: Mapping[str, str] = MappingProxyType(
    {
        "always-true": "a clause every holder passes, even one holding none",
        "asset-name": "an asset name that balances never use, so the clause never reads a holding",
        "never-true": "a clause no holder can pass",
        "positive-only": "a < or <= clause, which also needs a positive balance",
        "contradiction": "a group whose clauses cannot all pass at once",
        "duplicate": "a clause repeated within its group",
        "shadowed": "a clause or group that another already covers, so it changes nothing",
        "stackop-0": "stackop_0, which has no effect",
        "dialect-mismatch": "text the deployed Tokenpass server reads differently",
    }
)

#: Past this many clauses on one asset in one group, clauses are not compared pairwise.
_PAIRWISE_CLAUSES = 64


def lint(groups: Groups, source: object, dialect: str) -> tuple[LintWarning, ...]:
    found = _clause_warnings(groups) + _group_warnings(groups)
    if dialect == "strict":
        found += _asset_name_warnings(groups)
    found += _source_warnings(groups, source, dialect)
    variables = _stack_variables(groups)
    if variables > MAX_INPUT_VARS and not any(w.code == "dialect-mismatch" for w in found):
        message = (
            f"as a stack this rule has {variables:,} variables, and Tokenpass reads only "
            f"the first {MAX_INPUT_VARS:,} (PHP's max_input_vars)"
        )
        found.append(LintWarning("dialect-mismatch", message))
    return tuple(sorted(found, key=lambda w: (w.position is None, w.position or 0, w.code)))


def _asset_name_warnings(groups: Groups) -> list[LintWarning]:
    """Clauses built in code on names strict text would write otherwise (``ltbcoin``)."""
    found: list[LintWarning] = []
    for asset in dict.fromkeys(c.asset for group in groups for c in group):
        canonical = strict_asset(asset)
        if canonical is None:
            message = f"{shorten(asset)!r} is not a Counterparty asset name: no balance matches it"
            found.append(LintWarning("asset-name", message))
        elif canonical != asset:
            message = (
                f"{shorten(asset)!r} never matches a balance (names are exact): write {canonical}"
            )
            found.append(LintWarning("asset-name", message))
    return found


def _stack_variables(groups: Groups) -> int:
    """How many ``key=value`` pairs the rule's stack form (``to_query``) has."""
    clauses = [clause for group in groups for clause in group]
    return len(clauses) + sum(c.op is not Op.GE for c in clauses) + max(0, len(groups) - 1)


def _text(clause: Clause) -> str:
    return describe(((clause,),))


# ------------------------------------------------------------ the rule itself


def _clause_warnings(groups: Groups) -> list[LintWarning]:
    found: list[LintWarning] = []
    for clause in (clause for group in groups for clause in group):
        at, n, op = clause.position, clause.amount, clause.op
        if (op is Op.GE and n <= 0) or (op is Op.GT and n < 0):
            message = (
                f"{_text(clause)} passes for every holder, unless a loan has made "
                "their balance negative"
            )
            found.append(LintWarning("always-true", message, at))
        elif op is Op.UNKNOWN:
            message = f"the clause on {clause.asset} has an unknown operator"
            found.append(LintWarning("never-true", message, at))
        elif allowed(clause).empty:
            message = f"{_text(clause)} never passes: < and <= also need a positive balance"
            found.append(LintWarning("never-true", message, at))
        elif op in (Op.LT, Op.LE):
            message = (
                f"{_text(clause)} does not match holders of no {clause.asset}: "
                "Tokenpass's < and <= also need a positive balance"
            )
            found.append(LintWarning("positive-only", message, at))
    return found


def _group_warnings(groups: Groups) -> list[LintWarning]:
    found: list[LintWarning] = []
    forms = [group_form(group) for group in groups]
    for number, (group, form) in enumerate(zip(groups, forms, strict=True)):
        if form is None:
            conflict = _conflict(group)
            if len(conflict) > 1:  # a lone impossible clause is already "never-true"
                message = f"group {number} can never pass: " + " and ".join(map(_text, conflict))
                found.append(LintWarning("contradiction", message, group[0].position))
            continue
        found.extend(_redundant_clauses(group))
    for number, other in covering_groups(forms).items():
        message = f"group {number} can only pass when group {other} passes, so it changes nothing"
        found.append(LintWarning("shadowed", message, groups[number][0].position))
    return found


def _redundant_clauses(group: Sequence[Clause]) -> list[LintWarning]:
    """Repeated clauses, and clauses that one other clause on the same asset already implies."""
    found: list[LintWarning] = []
    seen: set[Clause] = set()
    by_asset: dict[str, list[int]] = {}
    for index, clause in enumerate(group):
        if clause in seen:
            found.append(LintWarning("duplicate", f"{_text(clause)} is repeated", clause.position))
        else:
            seen.add(clause)
            by_asset.setdefault(clause.asset, []).append(index)
    for indexes in by_asset.values():
        if not 1 < len(indexes) <= _PAIRWISE_CLAUSES:
            continue
        for index in indexes:
            clause, limit = group[index], allowed(group[index])
            for other in indexes:
                stricter = allowed(group[other])
                if other != index and stricter.within(limit):
                    if limit.within(stricter) and other > index:
                        continue  # of two equivalent clauses, the later is the redundant one
                    message = (
                        f"{_text(clause)} adds nothing: {_text(group[other])} already requires it"
                    )
                    found.append(LintWarning("shadowed", message, clause.position))
                    break
    return found


def _conflict(group: Sequence[Clause]) -> list[Clause]:
    """The clauses of one asset that together allow nothing (or the single impossible one)."""
    for clause in group:
        if allowed(clause).empty:
            return [clause]
    for asset in dict.fromkeys(c.asset for c in group):
        same = [c for c in group if c.asset == asset]
        if group_form(same) is None:
            return same
    return list(group)


# ------------------------------------------------------------ the text it came from


class _Entry(NamedTuple):
    """One key of the source as each dialect sees it."""

    key: str
    strict_value: str
    tokenpass_value: str
    position: int


def _source_warnings(groups: Groups, source: object, dialect: str) -> list[LintWarning]:
    """stackop_0, and every place the deployed server would read the text differently."""
    if isinstance(source, str):
        if dialect == "strict" and looks_like_expression(source):
            return _expression_warnings(groups, source)
        segments = query_segments(source)
        pairs = split_query(source, segments)
        read, cut = _what_php_reads(source, pairs)
        entries = [_Entry(p.key, p.value or "", p.value or "", p.position) for p in read]
        tokenpass = (
            groups if dialect == "tokenpass" else read_tokenpass_query(source, segments).groups
        )
        strict_read: Callable[[], StackReading] = lambda: read_strict_query(source, pairs)  # noqa: E731
    elif isinstance(source, tuple):
        _, pairs = _render_for_lint(source)
        entries = [
            _Entry(p.key, p.value or "", php_text(value), p.position)
            for p, (_, value) in zip(pairs, source, strict=True)
        ]
        tokenpass = groups if dialect == "tokenpass" else read_tokenpass_pairs(source).groups
        strict_read = lambda: _read_strict_pairs(source)  # noqa: E731
    else:
        return []
    try:
        reading = strict_read()
    except RuleSyntaxError:
        reading = None
    found = [LintWarning(n.code, n.message, n.position) for n in (reading.notes if reading else ())]
    found += _dialect_warnings(entries)
    if isinstance(source, str) and cut is not None:
        found.append(cut)
    if (
        reading is not None
        and reading.groups != tokenpass
        and not any(w.code == "dialect-mismatch" for w in found)
    ):
        sizes = _size(tokenpass), _size(reading.groups)
        counts = f"{sizes[0]}, not {sizes[1]}: " if sizes[0] != sizes[1] else ""
        message = (
            f"Tokenpass reads this rule differently ({counts}{shorten(describe(tokenpass), 100)})"
        )
        found.append(LintWarning("dialect-mismatch", message))
    return found


def _what_php_reads(text: str, pairs: list[Pair]) -> tuple[list[Pair], LintWarning | None]:
    """The pairs PHP reads (up to a NUL, at most ``MAX_INPUT_VARS``); a warning if not all."""
    nul = text.find("\0")
    if nul >= 0:
        kept = split_query(php_c_string(text))
        return kept[: _limit(kept)], LintWarning(
            "dialect-mismatch", "Tokenpass stops reading the rule at this NUL character", nul
        )
    limit = _limit(pairs)
    if limit < len(pairs):
        message = (
            f"Tokenpass reads only the first {MAX_INPUT_VARS:,} variables; it ignores the rest"
        )
        return pairs[:limit], LintWarning("dialect-mismatch", message, pairs[limit].position)
    return pairs, None


def _limit(pairs: list[Pair]) -> int:
    """How many of ``pairs`` fall within PHP's first ``MAX_INPUT_VARS`` non-empty parts."""
    seen = 0
    for index, pair in enumerate(pairs):
        if pair.key or pair.value is not None:
            seen += 1
            if seen > MAX_INPUT_VARS:
                return index
    return len(pairs)


def _size(groups: Groups) -> str:
    clauses = sum(map(len, groups))
    return (
        f"{clauses:,} clause{'s' * (clauses != 1)} in "
        f"{len(groups):,} group{'s' * (len(groups) != 1)}"
    )


def _render_for_lint(source: tuple[tuple[object, object], ...]) -> tuple[str, list[Pair]]:
    try:
        return render_pairs(source)
    except RuleSyntaxError:  # a mapping only the tokenpass dialect takes
        return render_pairs(source, lambda key, value: php_text(value))


_QUERY_LIKE = re.compile(r"[^\s()]+")


def _expression_warnings(groups: Groups, text: str) -> list[LintWarning]:
    """A readable rule without spaces could be sent as a query string: say what Tokenpass reads."""
    if not _QUERY_LIKE.fullmatch(text.strip()):
        return []
    tokenpass = read_tokenpass_query(text).groups
    if tokenpass == groups:
        return []
    message = (
        f"Tokenpass reads this text as the stack {shorten(describe(tokenpass), 120)}; "
        "send rule.to_query() to Tokenpass instead"
    )
    return [LintWarning("dialect-mismatch", message, 0)]


def _dialect_warnings(entries: Sequence[_Entry]) -> list[LintWarning]:
    found: list[LintWarning] = []
    seen: set[str] = set()

    def warn(message: str, entry: _Entry) -> None:
        found.append(LintWarning("dialect-mismatch", "Tokenpass " + message, entry.position))

    for entry in entries:
        key, shown = entry.key, shorten(entry.key)
        if not key:
            continue
        if key in seen:
            warn(f"keeps only the last value of {shown}", entry)
        seen.add(key)
        head = key.split("_")[0]
        is_op = terminal("OP_KEY").fullmatch(key)
        is_stackop = terminal("STACKOP_KEY").fullmatch(key)
        if (is_op or is_stackop) and head not in ("op", "stackop"):
            kind = "an operator" if is_op else "a stack operator"
            warn(
                f"reads {shown} as an asset named {shorten(ascii_upper(key))}, not as {kind}: "
                f"write {shown.lower()}",
                entry,
            )
        elif head in ("op", "stackop") and not (is_op or is_stackop):
            kind = "an operator" if head == "op" else "a stack operator"
            warn(f"reads {shown} as {kind}, not as an asset", entry)
        elif is_op:
            if entry.tokenpass_value not in OPERATORS:
                value = shorten(entry.tokenpass_value)
                warn(f"does not know the operator {value!r}: the clause never passes", entry)
        elif is_stackop:
            if ascii_upper(entry.tokenpass_value) not in ("AND", "OR"):
                warn(f"reads {shown}={shorten(entry.tokenpass_value)!r} as AND", entry)
        elif is_credential(key):
            warn(f"reads {shown} as a clause on an asset named {shorten(ascii_upper(key))}", entry)
        else:
            _amount_and_name_warnings(entry, warn)
    return found


def _amount_and_name_warnings(entry: _Entry, warn: Callable[[str, _Entry], None]) -> None:
    key, shown = entry.key, shorten(entry.key)
    mangled = ascii_upper(key.lstrip(" ").replace(".", "_").replace(" ", "_"))
    if strict_asset(key) not in (None, mangled):
        warn(f"reads the asset {shown} as {shorten(mangled)} ('.' and spaces become '_')", entry)
    strict = strict_amount(entry.strict_value)
    loose = tokenpass_amount(entry.tokenpass_value)
    if strict != loose:
        if math.isinf(loose):
            read_as = "-infinity" if loose < 0 else "infinity"
        else:  # the exact value of PHP's float, which may hold a fraction of a base unit
            read_as = format(Decimal(loose).scaleb(-8).normalize(), "f")
        warn(
            f"reads the amount {shorten(entry.tokenpass_value)!r} of {shown} as {read_as}"
            + (f", not {format_tokens(strict, grouping=False)}" if strict is not None else ""),
            entry,
        )
