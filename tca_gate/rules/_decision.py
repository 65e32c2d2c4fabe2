"""Decisions: why a balance sheet passes a rule or not, in figures and in one sentence."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._amounts import format_tokens
from ._clause import INFINITE_AMOUNT, Clause, Op
from ._evaluator import balance_values, rule_assets
from ._normal_form import group_form

_MAX_ALTERNATIVES = 3


#: The version of ``Decision.to_dict``'s layout; it changes only when the layout does.
DECISION_VERSION = 1


@dataclass(frozen=True, slots=True)
class ClauseResult:
    """One clause against the holder's balance; amounts in base units.

    ``op`` is the operator's symbol (``">="``, ``"<"``, ...; ``"?"`` for one the
    ``tokenpass`` dialect does not know). ``shortfall`` is how many base units the
    holder must gain (positive) or give up (negative) for the clause to pass: 0
    when it passes, ``None`` when no balance could pass it.
    """

    asset: str
    op: str
    required: int
    actual: int
    passed: bool
    shortfall: int | None

    def need(self) -> str:
        """What the holder lacks for this clause, as words (empty when it passes)."""
        if self.passed:
            return ""
        return _need(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; amounts are strings of base units, exact in any JSON reader."""
        return {
            "asset": self.asset,
            "op": self.op,
            "required": _amount_json(self.required),
            "actual": str(self.actual),
            "passed": self.passed,
            "shortfall": None if self.shortfall is None else str(self.shortfall),
        }


@dataclass(frozen=True, slots=True)
class GroupResult:
    """One AND group of the rule: it passes when every clause does.

    ``possible`` says whether any holdings at all could make it pass (a group
    asking for ``X > 10 and X < 5`` never can).
    """

    index: int
    passed: bool
    possible: bool
    clauses: tuple[ClauseResult, ...]

    @property
    def failing(self) -> tuple[ClauseResult, ...]:
        """The clauses of this group that did not pass."""
        return tuple(c for c in self.clauses if not c.passed)

    def needs(self) -> str:
        """What the holder lacks for this group, in words, one phrase per asset."""
        by_asset: dict[str, list[ClauseResult]] = {}
        for clause in self.clauses:
            by_asset.setdefault(clause.asset, []).append(clause)
        return " and ".join(
            _asset_need(results)
            for results in by_asset.values()
            if not all(c.passed for c in results)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with every clause's result."""
        return {
            "index": self.index,
            "passed": self.passed,
            "possible": self.possible,
            "clauses": [c.to_dict() for c in self.clauses],
        }


def _asset_need(results: list[ClauseResult]) -> str:
    """What one asset's balance must become for all its clauses in a group to pass.

    Worked out from what the clauses allow together, so the advice is enough on
    its own: ``LTBCOIN >= 10 and LTBCOIN != 10`` needs 10.00000001, not 10.
    """
    failing = [c for c in results if not c.passed]
    if len(results) == 1:
        return failing[0].need()
    asset, actual = results[0].asset, results[0].actual
    clauses = [_as_clause(c) for c in results]
    form = group_form(clauses)
    assert form is not None  # only groups that can pass are described
    limit = form[asset]
    if limit.lo is not None and limit.lo == limit.hi:
        return f"exactly {format_tokens(limit.lo)} {asset} (holds {format_tokens(actual)})"
    upper = _upper_phrase(clauses, limit.hi)
    if limit.lo is not None and actual < limit.lo:
        if limit.lo == 1 and actual <= 0 and upper:
            return f"some {asset}, but {upper}"
        lower = next(
            (
                f"more than {format_tokens(c.amount)} {asset}"
                for c in clauses
                if c.op is Op.GT and c.amount + 1 == limit.lo
            ),
            None,
        )
        if lower:
            return lower + (f" (holds {format_tokens(actual)})" if actual else "")
        more = " more" if actual != 0 else ""
        return f"{format_tokens(limit.lo - actual)}{more} {asset}"
    if limit.hi is not None and actual > limit.hi:
        return f"{upper} {asset} (holds {format_tokens(actual)})"
    return f"any amount of {asset} but exactly {format_tokens(actual)}"


def _upper_phrase(clauses: list[Clause], hi: int | None) -> str:
    """``less than N`` or ``at most N`` for the upper bound ``hi``, as the rule wrote it."""
    if hi is None:
        return ""
    for clause in clauses:
        if clause.op is Op.LT and clause.amount - 1 == hi:
            return f"less than {format_tokens(clause.amount)}"
    return f"at most {format_tokens(hi)}"


def _as_clause(result: ClauseResult) -> Clause:
    return Clause(result.asset, result.required, Op(result.op))


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to "does this balance sheet satisfy this rule?", with the reasons.

    ``groups`` judges every group and clause; ``closest`` is the index of the
    group nearest to passing (when allowed, the first group that passed; ``None``
    for a rule with no clauses); ``summary`` is one sentence a person can act on;
    ``rule`` is the rule's readable text and ``rule_hash`` its ``semantic_hash``.
    True in a boolean context exactly when ``allowed``.
    """

    allowed: bool
    groups: tuple[GroupResult, ...]
    closest: int | None
    summary: str
    rule: str
    rule_hash: str

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def clauses(self) -> tuple[ClauseResult, ...]:
        """Every clause's result, in stack order."""
        return tuple(c for g in self.groups for c in g.clauses)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with a ``version`` of the layout (see ``DECISION_VERSION``)."""
        return {
            "version": DECISION_VERSION,
            "allowed": self.allowed,
            "summary": self.summary,
            "rule": self.rule,
            "rule_hash": self.rule_hash,
            "closest": self.closest,
            "groups": [g.to_dict() for g in self.groups],
        }

    def to_json(self, **dumps_options: Any) -> str:
        """``to_dict()`` as JSON text; options go to ``json.dumps``."""
        return json.dumps(self.to_dict(), **dumps_options)


def _amount_json(amount: int) -> str:
    """An amount for JSON: base units as a string (``"infinity"`` for PHP's INF)."""
    if abs(amount) >= INFINITE_AMOUNT:
        return "-infinity" if amount < 0 else "infinity"
    return str(amount)


def explain(
    groups: Sequence[Sequence[Clause]],
    balances: Mapping[str, int],
    rule: str,
    rule_hash: str,
    satisfiable: Sequence[bool],
) -> Decision:
    """Judge ``balances`` against every clause and say what the closest group still needs.

    ``satisfiable`` says per group whether its clauses can pass together at all
    (worked out once per rule: see ``Rule``).
    """
    assets = rule_assets(groups)
    held = dict(zip(assets, balance_values(balances, assets), strict=True))
    results: list[GroupResult] = []
    for index, group in enumerate(groups):
        clause_results = tuple(_judge(clause, held[clause.asset]) for clause in group)
        passed = all(c.passed for c in clause_results)
        possible = passed or (
            satisfiable[index] and all(c.shortfall is not None for c in clause_results)
        )
        results.append(GroupResult(index, passed, possible, clause_results))
    allowed = any(g.passed for g in results)
    ranked = sorted(results, key=_distance)
    closest = ranked[0].index if ranked else None
    return Decision(allowed, tuple(results), closest, _summary(allowed, ranked), rule, rule_hash)


def _judge(clause: Clause, actual: int) -> ClauseResult:
    passed = clause.passes(actual)
    return ClauseResult(
        clause.asset,
        clause.op.symbol,
        clause.amount,
        actual,
        passed,
        0 if passed else _shortfall(clause.op, clause.amount, actual),
    )


def _shortfall(op: Op, n: int, actual: int) -> int | None:
    if abs(n) >= INFINITE_AMOUNT and op in (Op.GE, Op.GT, Op.EQ):
        return None  # no balance reaches PHP's INF
    match op:
        case Op.GE:
            return n - actual
        case Op.GT:
            return n + 1 - actual
        case Op.EQ:
            return n - actual
        case Op.NE:
            return 1
        case Op.LT | Op.LE:
            top = n - 1 if op is Op.LT else n
            if top < 1:
                return None
            return 1 - actual if actual < 1 else top - actual
    return None


def _distance(group: GroupResult) -> tuple[bool, int, int]:
    return (not group.possible, len(group.failing), group.index)


def _summary(allowed: bool, ranked: Sequence[GroupResult]) -> str:
    if not ranked:
        return "Denied: the rule has no clauses, so it lets no one in."
    if allowed:
        passing = next(g for g in sorted(ranked, key=lambda g: g.index) if g.passed)
        return "Allowed: holds " + " and ".join(_held(c) for c in passing.clauses) + "."
    possible = [g for g in ranked if g.possible]
    if not possible:
        return "Denied: no holdings can satisfy this rule."
    needs = [g.needs() for g in possible[:_MAX_ALTERNATIVES]]
    more = len(possible) - _MAX_ALTERNATIVES
    text = "Needs " + ", or ".join(needs)
    if more > 0:
        text += f", or one of {more} other way{'s' if more > 1 else ''}"
    return text + "."


def _need(c: ClauseResult) -> str:
    amount, asset, holds = format_tokens(c.required), c.asset, format_tokens(c.actual)
    match c.op:
        case ">=":
            assert c.shortfall is not None
            more = " more" if c.actual != 0 else ""
            return f"{format_tokens(c.shortfall)}{more} {asset}"
        case ">":
            return f"more than {amount} {asset}" + (f" (holds {holds})" if c.actual else "")
        case "==":
            return f"exactly {amount} {asset} (holds {holds})"
        case "!=":
            return f"any amount of {asset} but exactly {amount}"
        case "<" | "<=":
            bound = "less than" if c.op == "<" else "at most"
            if c.actual <= 0:
                return f"some {asset}, but {bound} {amount}"
            return f"{bound} {amount} {asset} (holds {holds})"
    return f"a known operator for {asset} (this clause never passes)"


def _held(c: ClauseResult) -> str:
    amount, asset = format_tokens(c.required), c.asset
    match c.op:
        case ">=":
            return f"at least {amount} {asset}"
        case ">":
            return f"more than {amount} {asset}"
        case "==":
            return f"exactly {amount} {asset}"
        case "!=":
            return f"an amount of {asset} other than {amount}"
        case "<":
            return f"some {asset}, less than {amount}"
    return f"some {asset}, at most {amount}"
