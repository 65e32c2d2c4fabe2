"""Offers: the promises that would make a refused holder pass, one per group of the rule.

A group can be met by a promise when each clause it fails asks for *more* of an asset
(``>=`` or ``>``) that the treasury may promise; the offer is the shortfall of each such
asset. Amounts come from the rule and the balances read, never from the request.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from tca_gate.rules import Decision, format_tokens

_MORE = (">=", ">")


@dataclass(frozen=True, slots=True)
class Offer:
    """What to promise to meet group ``group`` of a rule: ``(asset, base units)`` pairs."""

    group: int
    amounts: tuple[tuple[str, int], ...]

    @property
    def label(self) -> str:
        """The amounts for people: ``1,200 LTBCOIN``, ``1 TOKENLY and 500 LTBCOIN``."""
        return " and ".join(f"{format_tokens(sat)} {asset}" for asset, sat in self.amounts)


def offers_for(decision: Decision, assets: Collection[str]) -> tuple[Offer, ...]:
    """The promises, of ``assets``, that would each make the refused ``decision`` pass.

    >>> from tca_gate import compile_rule
    >>> rule = compile_rule("TOKENLY >= 1 or LTBCOIN >= 10000")
    >>> [o.label for o in offers_for(rule.explain({"LTBCOIN": 880_000_000_000}),
    ...                              ["TOKENLY", "LTBCOIN"])]
    ['1 TOKENLY', '1,200 LTBCOIN']
    >>> offers_for(rule.explain({"TOKENLY": 100_000_000}), ["TOKENLY"])
    ()
    >>> offers_for(compile_rule("LTBSTAFF >= 1").explain({}), ["TOKENLY", "LTBCOIN"])
    ()
    """
    if decision.allowed:
        return ()
    found = []
    for group in decision.groups:
        if group.passed or not group.possible:
            continue
        needed: dict[str, int] = {}
        for clause in group.failing:
            shortfall = clause.shortfall
            if clause.op not in _MORE or clause.asset not in assets or not shortfall:
                break  # more of what the treasury holds would not do
            needed[clause.asset] = max(needed.get(clause.asset, 0), shortfall)
        else:
            if needed:
                found.append(Offer(group.index, tuple(needed.items())))
    return tuple(found)
