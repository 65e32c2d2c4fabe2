"""Clauses: one comparison of an asset's balance against an amount in base units."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


class Op(enum.Enum):
    """A clause's comparison, ``balance OP amount``.

    ``<`` and ``<=`` also need a positive balance (Tokenpass's rule, kept on
    purpose): "fewer than 10" never matches someone holding none. ``UNKNOWN``
    is what the ``tokenpass`` dialect makes of an operator it does not know:
    the clause never passes.
    """

    GE = ">="
    GT = ">"
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    UNKNOWN = "?"

    @property
    def symbol(self) -> str:
        """The canonical spelling (``==`` for both ``=`` and ``==``)."""
        return self.value

    def holds(self, balance: int, amount: int) -> bool:
        """Whether ``balance OP amount`` is true, with Tokenpass's semantics."""
        match self:
            case Op.GE:
                return balance >= amount
            case Op.GT:
                return balance > amount
            case Op.EQ:
                return balance == amount
            case Op.NE:
                return balance != amount
            case Op.LT:
                return 0 < balance < amount
            case Op.LE:
                return 0 < balance <= amount
        return False


#: What the ``tokenpass`` dialect makes of an infinite amount (PHP's ``INF``): larger
#: than any balance a float can hold, so every comparison comes out as PHP's would.
INFINITE_AMOUNT = 2**1024

#: Every operator spelling the rule language accepts, with what it means (read-only).
OPERATORS: Mapping[str, Op] = MappingProxyType(
    {
        ">=": Op.GE,
        ">": Op.GT,
        "=": Op.EQ,
        "==": Op.EQ,
        "!=": Op.NE,
        "!": Op.NE,
        "<": Op.LT,
        "<=": Op.LE,
    }
)


@dataclass(frozen=True, slots=True, init=False)
class Clause:
    """``asset OP amount``, the amount in base units (1 token = 10^8).

    ``op`` is an ``Op`` or its text (``">"``, ``"<="``, ``"="``, ...: any spelling of
    ``OPERATORS``). ``position`` is where the clause was written in the rule's text
    (for errors and lint); it takes no part in equality.

    >>> Clause("TOKENLY", 100_000_000, ">") == Clause("TOKENLY", 100_000_000, Op.GT)
    True
    """

    asset: str
    amount: int
    op: Op
    position: int | None = field(compare=False, repr=False)

    def __init__(
        self, asset: str, amount: int, op: Op | str = Op.GE, position: int | None = None
    ) -> None:
        if not isinstance(asset, str) or not asset:
            raise TypeError(f"a clause's asset must be a non-empty str, not {asset!r}")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise TypeError(
                f"a clause's amount must be an int of base units, not {type(amount).__name__}"
            )
        if isinstance(op, str) and not isinstance(op, Op):
            found = OPERATORS.get(op)
            if found is None:
                raise ValueError(f"a clause's op must be one of {', '.join(OPERATORS)}, not {op!r}")
            op = found
        if not isinstance(op, Op):
            raise TypeError(f"a clause's op must be an Op or its text, not {op!r}")
        object.__setattr__(self, "asset", asset)
        object.__setattr__(self, "amount", amount)
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "position", position)

    def passes(self, balance: int) -> bool:
        """Whether a holder with ``balance`` base units of the asset meets this clause."""
        return self.op.holds(balance, self.amount)
