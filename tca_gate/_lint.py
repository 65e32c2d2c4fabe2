"""Lint: rules that are legal but probably not what their author meant."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._amounts import format_tokens
from ._clause import OPERATORS, Clause, Op
from ._errors import RuleSyntaxError
from ._expr import looks_like_expression
from ._grammar import terminal
from ._normal import allowed, group_form, group_within
from ._php import tokenpass_amount
from ._stack import (
    CREDENTIAL_KEYS,
    Groups,
    Pair,
    StackReading,
    ascii_upper,
    read_strict_pairs,
    read_strict_query,
    read_tokenpass_pairs,
    read_tokenpass_query,
    split_query,
    strict_amount,
    strict_asset,
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


#: Every code ``lint`` can report, with what it means.
LINT_CODES = {
    "always-true": "a clause every holder passes, even one holding none",
    "never-true": "a clause no holder can pass",
    "positive-only": "a < or <= clause, which also needs a positive balance",
    "contradiction": "a group whose clauses cannot all pass at once",
    "duplicate": "a clause repeated within its group",
    "shadowed": "a clause or group that another already covers, so it changes nothing",
    "stackop-0": "stackop_0, which has no effect",
    "dialect-mismatch": "text the deployed Tokenpass server reads differently",
}


def lint(
    groups: Sequence[Sequence[Clause]], source: object, dialect: str
) -> tuple[LintWarning, ...]:
    found: list[LintWarning] = []
    for group in groups:
        found.extend(_clause_warnings(group))
    found.extend(_group_warnings(groups))
    found.extend(_source_warnings(source, dialect))
    return tuple(sorted(found, key=lambda w: (w.position is None, w.position or 0, w.code)))


def _text(clause: Clause) -> str:
    return f"{clause.asset} {clause.op.symbol} {format_tokens(clause.amount)}"


def _clause_warnings(group: Sequence[Clause]) -> list[LintWarning]:
    found: list[LintWarning] = []
    for clause in group:
        at = clause.position
        n, op = clause.amount, clause.op
        if (op is Op.GE and n <= 0) or (op is Op.GT and n < 0):
            found.append(LintWarning("always-true", f"{_text(clause)} passes for every holder", at))
        elif op is Op.UNKNOWN:
            found.append(
                LintWarning(
                    "never-true", f"the clause on {clause.asset} has an unknown operator", at
                )
            )
        elif allowed(clause).empty:
            found.append(
                LintWarning(
                    "never-true",
                    f"{_text(clause)} never passes: < and <= also need a positive balance",
                    at,
                )
            )
        elif op in (Op.LT, Op.LE):
            found.append(
                LintWarning(
                    "positive-only",
                    f"{_text(clause)} does not match holders of no {clause.asset}: "
                    "Tokenpass's < and <= also need a positive balance",
                    at,
                )
            )
    return found


def _group_warnings(groups: Sequence[Sequence[Clause]]) -> list[LintWarning]:
    found: list[LintWarning] = []
    forms = [group_form(group) for group in groups]
    for number, (group, form) in enumerate(zip(groups, forms, strict=True)):
        first = group[0].position
        if form is None:
            conflict = _conflict(group)
            if len(conflict) > 1:  # a lone impossible clause is already "never-true"
                found.append(
                    LintWarning(
                        "contradiction",
                        f"group {number} can never pass: "
                        + " and ".join(_text(c) for c in conflict),
                        first,
                    )
                )
            continue
        seen: set[Clause] = set()
        by_asset: dict[str, list[int]] = {}
        for index, clause in enumerate(group):
            by_asset.setdefault(clause.asset, []).append(index)
        for index, clause in enumerate(group):
            if clause in seen:
                found.append(
                    LintWarning("duplicate", f"{_text(clause)} is repeated", clause.position)
                )
                continue
            seen.add(clause)
            others = [group[i] for i in by_asset[clause.asset] if i != index]
            others_form = group_form(others)
            if (
                others
                and others_form is not None
                and others_form[clause.asset].within(allowed(clause))
                and clause not in others
            ):
                found.append(
                    LintWarning(
                        "shadowed",
                        f"{_text(clause)} adds nothing: "
                        + " and ".join(_text(c) for c in others)
                        + " already requires it",
                        clause.position,
                    )
                )
    if len(groups) <= 512:
        for number, form in enumerate(forms):
            for other, other_form in enumerate(forms):
                if other == number or form is None or other_form is None:
                    continue
                if group_within(form, other_form) and (
                    not group_within(other_form, form) or other < number
                ):
                    found.append(
                        LintWarning(
                            "shadowed",
                            f"group {number} can only pass when group {other} passes, "
                            "so it changes nothing",
                            groups[number][0].position,
                        )
                    )
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


# ------------------------------------------------------------ source level


def _source_warnings(source: object, dialect: str) -> list[LintWarning]:
    """stackop_0 and every place the deployed server would read the text differently."""
    if isinstance(source, str):
        if dialect == "strict" and looks_like_expression(source):
            return []
        pairs = split_query(source)
        notes, strict = _strict_reading(lambda: read_strict_query(source))
        tokenpass = read_tokenpass_query(source).groups
    elif isinstance(source, tuple):
        pairs = [
            Pair(str(key), None if value is None else str(value), i, i, 1, 1)
            for i, (key, value) in enumerate(source)
        ]
        notes, strict = _strict_reading(lambda: read_strict_pairs(source))
        tokenpass = read_tokenpass_pairs(source).groups
    else:
        return []
    found = notes + _dialect_warnings(pairs)
    if (
        strict is not None
        and strict != tokenpass
        and not any(w.code == "dialect-mismatch" for w in found)
    ):
        clauses = sum(map(len, tokenpass))
        found.append(
            LintWarning(
                "dialect-mismatch",
                f"Tokenpass reads this rule differently ({clauses} clauses in "
                f"{len(tokenpass)} groups, against {sum(map(len, strict))} in {len(strict)})",
            )
        )
    return found


def _strict_reading(
    read: Callable[[], StackReading],
) -> tuple[list[LintWarning], Groups | None]:
    """The strict reader's notes and groups (none when strict refuses the text)."""
    try:
        reading = read()
    except RuleSyntaxError:
        return [], None
    return [LintWarning(n.code, n.message, n.position) for n in reading.notes], reading.groups


def _dialect_warnings(pairs: Sequence[Pair]) -> list[LintWarning]:
    found: list[LintWarning] = []
    seen: set[str] = set()

    def warn(message: str, pair: Pair) -> None:
        found.append(LintWarning("dialect-mismatch", "Tokenpass " + message, pair.position))

    for pair in pairs:
        key, value = pair.key, pair.value or ""
        if not key:
            continue
        if key in seen:
            warn(f"keeps only the last value of {key}", pair)
        seen.add(key)
        is_op = terminal("OP_KEY").fullmatch(key)
        is_stackop = terminal("STACKOP_KEY").fullmatch(key)
        if (is_op or is_stackop) and not key.startswith(("op_", "stackop_")):
            kind = "an operator" if is_op else "a stack operator"
            warn(
                f"reads {key} as an asset named {ascii_upper(key)}, not as {kind}: "
                f"write {key.lower()}",
                pair,
            )
        elif is_op:
            if value not in OPERATORS:
                warn(f"does not know the operator {value!r}: the clause never passes", pair)
        elif is_stackop:
            if ascii_upper(value) not in ("AND", "OR"):
                warn(f"reads {key}={value!r} as AND", pair)
        elif key.lower() in CREDENTIAL_KEYS:
            warn(f"reads {key} as a clause on an asset named {ascii_upper(key)}", pair)
        else:
            mangled = ascii_upper(key.lstrip(" ").replace(".", "_").replace(" ", "_"))
            if strict_asset(key) not in (None, mangled):
                warn(f"reads the asset {key} as {mangled} ('.' and spaces become '_')", pair)
            strict = strict_amount(value)
            loose = tokenpass_amount(value)
            if strict != loose:
                warn(
                    f"reads the amount {value!r} of {key} as {format_tokens(loose)}"
                    + (f", not {format_tokens(strict)}" if strict is not None else ""),
                    pair,
                )
    return found
