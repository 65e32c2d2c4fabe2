"""Holdings as integer columns, every rule's clauses as column comparisons, the result."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tca_gate.errors import InvalidArgumentError, InvalidBalancesError
from tca_gate.rules import Decision, Op, Rule, compile_rule

#: A balance column: ``int64``, or Python ints (``object``) when a balance does not fit.
Column = npt.NDArray[Any]
Mask = npt.NDArray[np.bool_]

_INT64 = np.iinfo(np.int64)


class Holdings:
    """Every holder's balances (``int`` base units), one read-only column per asset.

    Built from a mapping ``holder -> {asset: base units}`` (a missing asset is 0), or
    with ``from_columns`` from integer arrays. A balance that is not an ``int`` (a
    float, a bool, a string) raises ``InvalidBalancesError`` naming the holder and the
    asset, whether or not a rule reads it: nothing is coerced.
    """

    __slots__ = ("_columns", "_rows", "_zeros", "holders")

    holders: tuple[str, ...]
    _columns: dict[str, Column]
    _rows: dict[str, int] | None  # made on the first ``balances`` call
    _zeros: Column

    def __init__(self, balances: Mapping[str, Mapping[str, int]]) -> None:
        if not isinstance(balances, Mapping):
            raise InvalidBalancesError(
                f"holdings must map each holder to their balances, not {type(balances).__name__}"
            )
        holders = tuple(balances)
        lists: dict[str, list[int]] = {}
        for row, (holder, sheet) in enumerate(balances.items()):
            if not isinstance(sheet, Mapping):
                raise InvalidBalancesError(
                    f"the balances of holder {holder!r} must be a mapping of asset name to int"
                    f" base units, not {type(sheet).__name__}"
                )
            for asset, value in sheet.items():
                if value.__class__ is not int:
                    raise InvalidBalancesError(
                        f"the balance of {asset} of holder {holder!r} must be an int number of"
                        f" base units, not {type(value).__name__} {value!r}"
                    )
                column = lists.get(asset)
                if column is None:
                    column = lists[asset] = [0] * len(holders)
                column[row] = value
        self._set(holders, {asset: int_column(values) for asset, values in lists.items()})

    @classmethod
    def from_columns(cls, holders: Sequence[str], columns: Mapping[str, npt.ArrayLike]) -> Holdings:
        """Holdings from one integer array per asset, a row per holder (in ``holders``' order).

        Any integer dtype is taken exactly (``uint64`` past ``int64``'s range included), and
        so are Python ints (an ``object`` array or a list); a float or bool column, or an
        ``object`` one holding anything but ints, raises ``InvalidBalancesError`` naming
        the asset.
        """
        holders = tuple(holders)
        if len(set(holders)) != len(holders):
            seen: set[str] = set()
            for holder in holders:
                if holder in seen:
                    raise InvalidArgumentError(f"holder {holder!r} appears more than once")
                seen.add(holder)
        converted: dict[str, Column] = {}
        for asset, values in columns.items():
            if isinstance(values, list | tuple) and all(v.__class__ is int for v in values):
                # Exact: np.asarray makes floats of ints past int64 mixed with negative ones.
                array = int_column(list(values))
            else:
                array = np.asarray(values)
            if array.dtype == object:
                if array.ndim != 1 or not all(value.__class__ is int for value in array):
                    raise InvalidBalancesError(
                        f"the balances of {asset} must be ints (base units), not other objects"
                    )
                array = int_column(array.tolist())  # int64 when they all fit, else kept as ints
            elif array.dtype.kind not in "iu":
                raise InvalidBalancesError(
                    f"the balances of {asset} must be an integer array of base units,"
                    f" not {array.dtype}"
                )
            if array.shape != (len(holders),):
                raise InvalidBalancesError(
                    f"the balances of {asset} must be one value per holder ({len(holders)}),"
                    f" not an array of shape {array.shape}"
                )
            if array.dtype == object:
                converted[asset] = array
            elif array.dtype.kind == "u" and array.size and int(array.max()) > _INT64.max:
                converted[asset] = array.astype(object)  # Python ints: exact past int64
            else:
                converted[asset] = array.astype(np.int64)
        holdings = cls.__new__(cls)
        holdings._set(holders, converted)
        return holdings

    def _set(self, holders: tuple[str, ...], columns: dict[str, Column]) -> None:
        for column in columns.values():
            column.flags.writeable = False
        zeros = np.zeros(len(holders), dtype=np.int64)
        zeros.flags.writeable = False
        self.holders, self._columns, self._zeros = holders, columns, zeros
        self._rows = None

    def __len__(self) -> int:
        return len(self.holders)

    @property
    def assets(self) -> tuple[str, ...]:
        """The assets some holder has a balance of, in the order they first appear."""
        return tuple(self._columns)

    def column(self, asset: str) -> Column:
        """Every holder's balance of ``asset`` (read-only; zeros when no one holds it)."""
        return self._columns.get(asset, self._zeros)

    def balances(self, holder: str) -> dict[str, int]:
        """One holder's balances as ``Rule.evaluate`` reads them (``KeyError`` if unknown)."""
        if self._rows is None:
            self._rows = dict(zip(self.holders, range(len(self.holders)), strict=True))
        row = self._rows[holder]
        return {asset: int(column[row]) for asset, column in self._columns.items()}

    def __repr__(self) -> str:
        return f"Holdings({len(self.holders):,} holders, {len(self._columns):,} assets)"


def int_column(values: list[int]) -> Column:
    """``int64`` when every value fits, else Python ints: exact either way, never wrapped."""
    with contextlib.suppress(OverflowError):  # a balance past int64's range
        return np.array(values, dtype=np.int64)
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


class AuditResult:
    """Who passes each rule of an ``audit``, holders always in the holdings' order."""

    __slots__ = ("_masks", "holdings", "rules")

    holdings: Holdings
    rules: Mapping[str, Rule]
    _masks: dict[str, Mask]

    def __init__(self, holdings: Holdings, rules: Mapping[str, Rule], masks: dict[str, Mask]):
        self.holdings, self.rules, self._masks = holdings, rules, masks

    def mask(self, name: str) -> Mask:
        """A read-only ``bool`` array: whether each holder passes rule ``name``."""
        return self._masks[name]

    def passed(self, name: str) -> tuple[str, ...]:
        """The holders who pass rule ``name``, in input order."""
        rows = np.flatnonzero(self._masks[name]).tolist()
        return tuple(map(self.holdings.holders.__getitem__, rows))

    def count(self, name: str) -> int:
        """How many holders pass rule ``name``."""
        return int(np.count_nonzero(self._masks[name]))

    def explain(self, name: str, holder: str) -> Decision:
        """``Rule.explain`` for one holder: each clause judged, and what they lack."""
        return self.rules[name].explain(self.holdings.balances(holder))

    def shortfalls(self, name: str) -> dict[str, Decision]:
        """Each holder refused by rule ``name`` (in input order), with what they lack."""
        holders, refused = self.holdings.holders, np.flatnonzero(~self._masks[name])
        return {holders[row]: self.explain(name, holders[row]) for row in refused}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"rules": {NAME: {"passed": COUNT, "holders": [...]}}, "holders": N}``."""
        return {
            "rules": {
                name: {"passed": self.count(name), "holders": list(self.passed(name))}
                for name in self.rules
            },
            "holders": len(self.holdings),
        }

    def __repr__(self) -> str:
        return f"AuditResult({len(self.rules):,} rules, {len(self.holdings):,} holders)"


def audit(rules: Mapping[str, Rule | str], holdings: Holdings) -> AuditResult:
    """Judge every rule of ``rules`` (name to ``Rule`` or strict rule text) over ``holdings``.

    A clause shared by several rules is compared once. A rule that cannot be compiled
    raises its ``RuleSyntaxError`` with a note naming it.
    """
    compiled: dict[str, Rule] = {}
    for name, rule in rules.items():
        try:
            compiled[name] = compile_rule(rule)
        except Exception as error:
            error.add_note(f"in rule {name!r}")
            raise
    clauses: dict[tuple[str, Op, int], Mask] = {}
    masks: dict[str, Mask] = {}
    for name, rule in compiled.items():
        passing = np.zeros(len(holdings), dtype=np.bool_)
        for group in rule.groups:
            meets = np.ones(len(holdings), dtype=np.bool_)
            for clause in group:
                key = (clause.asset, clause.op, clause.amount)
                if key not in clauses:
                    clauses[key] = _compare(holdings.column(clause.asset), clause.op, clause.amount)
                meets &= clauses[key]
            passing |= meets
        passing.flags.writeable = False
        masks[name] = passing
    return AuditResult(holdings, compiled, masks)


def _compare(column: Column, op: Op, amount: int) -> Mask:
    """``balance OP amount`` for every balance, with the rule engine's semantics."""
    if op is Op.UNKNOWN:
        return np.zeros(len(column), dtype=np.bool_)
    if column.dtype != object and not _INT64.min <= amount <= _INT64.max:
        # As Python ints: exact for any amount (numpy 1.x compares such an amount as a float).
        column = column.astype(object)
    match op:
        case Op.GE:
            found = column >= amount
        case Op.GT:
            found = column > amount
        case Op.EQ:
            found = column == amount
        case Op.NE:
            found = column != amount
        case Op.LT:
            found = (column > 0) & (column < amount)  # "<" also needs a positive balance
        case Op.LE:
            found = (column > 0) & (column <= amount)
    return np.asarray(found, dtype=np.bool_)
