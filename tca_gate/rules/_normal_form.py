"""A rule's normal form: what each group allows of each asset, as a set of integers.

Every clause constrains one asset's balance to ``lo <= b <= hi`` minus some
excluded values; a group intersects its clauses per asset. Two rules with the
same normal form decide every balance sheet the same way. This drives the
semantic hash and lint's contradiction, shadowing and redundancy checks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from ._clause import Clause, Op


@dataclass(frozen=True, slots=True)
class Allowed:
    """The integers ``lo <= b <= hi`` (``None`` is unbounded) not in ``excluded``."""

    lo: int | None = None
    hi: int | None = None
    excluded: frozenset[int] = frozenset()

    @property
    def empty(self) -> bool:
        return self.lo is not None and self.hi is not None and self.lo > self.hi

    def within(self, other: Allowed) -> bool:
        """Whether every integer allowed here is allowed by ``other``."""
        if self.empty:
            return True
        if other.lo is not None and (self.lo is None or self.lo < other.lo):
            return False
        if other.hi is not None and (self.hi is None or self.hi > other.hi):
            return False
        return all(
            value in self.excluded
            for value in other.excluded
            if (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)
        )

    def describe(self) -> str:
        if self.empty:
            return "nothing"
        parts = [
            f"{'-inf' if self.lo is None else self.lo}..{'inf' if self.hi is None else self.hi}"
        ]
        parts.extend(f"!{value}" for value in sorted(self.excluded))
        return " ".join(parts)


EMPTY = Allowed(1, 0)


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _tidy(lo: int | None, hi: int | None, excluded: frozenset[int]) -> Allowed:
    """Drop exclusions outside the bounds and pull bounds in past excluded ends."""
    kept = {v for v in excluded if (lo is None or v >= lo) and (hi is None or v <= hi)}
    while lo is not None and lo in kept and (hi is None or lo <= hi):
        kept.discard(lo)
        lo += 1
    while hi is not None and hi in kept and (lo is None or hi >= lo):
        kept.discard(hi)
        hi -= 1
    if lo is not None and hi is not None and lo > hi:
        return EMPTY
    return Allowed(lo, hi, frozenset(kept))


def allowed(clause: Clause) -> Allowed:
    """The balances of ``clause.asset`` that pass the clause."""
    n = clause.amount
    match clause.op:
        case Op.GE:
            return Allowed(n, None)
        case Op.GT:
            return Allowed(n + 1, None)
        case Op.EQ:
            return Allowed(n, n)
        case Op.NE:
            return Allowed(None, None, frozenset({n}))
        case Op.LT:
            return _tidy(1, n - 1, frozenset())
        case Op.LE:
            return _tidy(1, n, frozenset())
    return EMPTY


GroupForm = dict[str, Allowed]

#: Past this many groups, only identical groups are merged (covering is checked pairwise).
_PAIRWISE_LIMIT = 256


def group_form(group: Iterable[Clause]) -> GroupForm | None:
    """Per asset, what the group allows; ``None`` when no balance sheet passes it.

    Bounds and exclusions are gathered first and tidied once, so this is linear
    in the number of clauses.
    """
    gathered: dict[str, tuple[int | None, int | None, set[int]]] = {}
    for clause in group:
        limit = allowed(clause)
        if limit.empty:
            return None
        lo, hi, excluded = gathered.get(clause.asset, (None, None, set()))
        excluded.update(limit.excluded)
        gathered[clause.asset] = (_max(lo, limit.lo), _min(hi, limit.hi), excluded)
    form: GroupForm = {}
    for asset, (lo, hi, excluded) in gathered.items():
        form[asset] = _tidy(lo, hi, frozenset(excluded))
        if form[asset].empty:
            return None
    return form


def group_within(inner: GroupForm, outer: GroupForm) -> bool:
    """Whether every balance sheet passing ``inner`` also passes ``outer``."""
    return all(asset in inner and inner[asset].within(limit) for asset, limit in outer.items())


def covering_groups(forms: list[GroupForm | None]) -> dict[int, int]:
    """For each group that another covers (passes whenever it does), the covering group.

    Of two equivalent groups the later is the one covered. Pairwise, so only
    rules of up to ``_PAIRWISE_LIMIT`` groups are checked.
    """
    covered: dict[int, int] = {}
    if len(forms) > _PAIRWISE_LIMIT:
        return covered
    for index, form in enumerate(forms):
        for other_index, other in enumerate(forms):
            if other_index == index or form is None or other is None:
                continue
            if group_within(form, other) and (not group_within(other, form) or other_index < index):
                covered[index] = other_index
                break
    return covered


def normal_form(groups: Iterable[Iterable[Clause]]) -> list[GroupForm]:
    """Satisfiable groups, without those another group already covers, in a stable order."""
    forms = [form for form in map(group_form, groups) if form is not None]
    covered = covering_groups(list(forms))
    unique = {
        _describe_group(form): form for index, form in enumerate(forms) if index not in covered
    }
    return [unique[key] for key in sorted(unique)]


def _describe_group(form: GroupForm) -> str:
    return " & ".join(
        f"{json.dumps(asset)}:{limit.describe()}" for asset, limit in sorted(form.items())
    )


def semantic_hash(groups: Iterable[Iterable[Clause]]) -> str:
    """A stable identifier shared by rules that decide alike (cache keys, audit logs)."""
    text = " | ".join(_describe_group(form) for form in normal_form(groups))
    return "tca1:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
