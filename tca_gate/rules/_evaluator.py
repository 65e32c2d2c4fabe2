"""Compiled evaluators: a rule becomes a Python function as fast as one written by hand.

For a rule of a given shape (its groups' sizes, operators and which clauses share
an asset) one function is generated and compiled; rules of the same shape reuse
its code object with their own assets and amounts swapped in as constants. The
balance of every asset the rule names is checked to be an ``int`` before any
answer is given (never coerced): anything else raises ``InvalidBalancesError``.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterable, Mapping
from typing import NoReturn

from tca_gate.errors import InvalidBalancesError

from ._clause import Clause, Op

Evaluator = Callable[[Mapping[str, int]], bool]
Shape = tuple[tuple[tuple[int, Op], ...], ...]

#: Rules with more clauses than this are evaluated by a loop instead of generated code.
CODEGEN_LIMIT = 256

_TESTS = {
    Op.GE: "{v} >= {n}",
    Op.GT: "{v} > {n}",
    Op.EQ: "{v} == {n}",
    Op.NE: "{v} != {n}",
    Op.LT: "0 < {v} < {n}",
    Op.LE: "0 < {v} <= {n}",
}


def reject_balance(asset: str, value: object) -> NoReturn:
    """Refuse a balance that is not an ``int`` of base units."""
    kind = type(value).__name__
    advice = ""
    if isinstance(value, float):
        advice = " (floats are inexact: convert tokens with tokens_to_sat)"
    elif isinstance(value, str):
        advice = " (parse it with int(), or tokens_to_sat for token amounts)"
    elif isinstance(value, bool):
        advice = " (a bool is not a balance)"
    raise InvalidBalancesError(
        f"the balance of {asset} must be an int number of base units, not {kind} {value!r}{advice}"
    )


def rule_assets(groups: Iterable[Iterable[Clause]]) -> tuple[str, ...]:
    """The distinct assets of a rule, in the order they first appear."""
    return tuple(dict.fromkeys(clause.asset for group in groups for clause in group))


def check_mapping(balances: object) -> None:
    """Refuse anything that is not a mapping (it must at least have a callable ``get``)."""
    if not callable(getattr(balances, "get", None)):
        reject_mapping(balances)


def reject_mapping(balances: object) -> NoReturn:
    raise InvalidBalancesError(
        f"balances must be a mapping of asset name to int base units, not {type(balances).__name__}"
    )


def balance_values(balances: Mapping[str, int], assets: tuple[str, ...]) -> list[int]:
    """The balance of each asset (0 when missing), refusing any that is not an ``int``."""
    check_mapping(balances)
    values = []
    for asset in assets:
        value = balances.get(asset, 0)
        if value.__class__ is not int:
            reject_balance(asset, value)
        values.append(value)
    return values


def _refuse(balances: Mapping[str, int], asset: str) -> NoReturn:
    reject_balance(asset, balances.get(asset, 0))


def _checked(balances: Mapping[str, int], assets: tuple[str, ...]) -> bool:
    """Refuse any of ``assets`` whose balance is not an ``int``; True otherwise."""
    balance_values(balances, assets)
    return True


_GLOBALS: dict[str, object] = {
    "__builtins__": {},
    "AttributeError": AttributeError,
    "_int": int,
    "_reject": reject_balance,
    "_check_mapping": check_mapping,
    "_checked": _checked,
    "_refuse": _refuse,
}


def build_evaluator(groups: tuple[tuple[Clause, ...], ...]) -> Evaluator:
    """A function ``balances -> bool`` for the rule made of ``groups`` (OR of ANDs).

    Clauses are decided in order, each checking the balance it reads; when a group
    passes, the assets it did not read are checked before the answer is given, and
    a refusal checks them all. So a balance that is not an ``int`` is refused
    whatever the clause order, and an AND rule that passes reads each asset once.
    """
    if sum(map(len, groups)) > CODEGEN_LIMIT:
        return _looping_evaluator(groups)
    assets = rule_assets(groups)
    slot = {asset: index for index, asset in enumerate(assets)}
    shape = tuple(tuple((slot[c.asset], c.op) for c in group) for group in groups)
    code = _template(shape)
    values: dict[str, object] = {}
    values.update((f"@a{index}", asset) for index, asset in enumerate(assets))
    for index, clause in enumerate(c for group in groups for c in group):
        values[f"@n{index}"] = clause.amount
    unchecked, unchecked_on_refusal = _unchecked(shape)
    for index, slots in enumerate(unchecked):
        values[f"@rest{index}"] = tuple(assets[k] for k in slots)
    values["@assets"] = tuple(assets[k] for k in unchecked_on_refusal)
    consts = tuple(
        values.get(const, const) if isinstance(const, str) else const for const in code.co_consts
    )
    evaluator: Evaluator = types.FunctionType(code.replace(co_consts=consts), _GLOBALS, "evaluate")
    return _named(evaluator)


_EVALUATE_DOC = """Whether ``balances`` (asset name to ``int`` base units) satisfy the rule.

A missing asset counts as 0; a balance that is not an ``int`` raises
``InvalidBalancesError``.
"""


def _named(evaluator: Evaluator) -> Evaluator:
    evaluator.__name__ = "evaluate"
    evaluator.__qualname__ = "Rule.evaluate"
    evaluator.__doc__ = _EVALUATE_DOC
    return evaluator


@functools.lru_cache(maxsize=512)
def _template(shape: Shape) -> types.CodeType:
    """Compile the evaluator for one shape: per clause, its asset's slot and its operator.

    ``'@aK'`` (asset K), ``'@nI'`` (clause I's amount), ``'@restG'`` (the assets
    group G does not read) and ``'@assets'`` stand for the constants each rule of
    this shape swaps in.
    """
    if not shape:
        source = "def evaluate(balances, /):\n    _check_mapping(balances)\n    return False\n"
    else:
        counter = iter(range(sum(map(len, shape))))
        unchecked, unchecked_on_refusal = _unchecked(shape)
        alternatives = []
        for number, group in enumerate(shape):
            tests, read = [], set()
            for slot, op in group:
                amount = repr(f"@n{next(counter)}")
                if op is Op.UNKNOWN:
                    tests.append("False")
                    continue
                if slot not in read:  # a later clause of the group reuses the value
                    read.add(slot)
                    tests.append(
                        f"((v{slot} := balances.get('@a{slot}', 0)).__class__ is _int"
                        f" or _reject('@a{slot}', v{slot}))"
                    )
                tests.append(_TESTS[op].format(v=f"v{slot}", n=amount))
            if unchecked[number]:
                tests.append(_check_all(unchecked[number], f"@rest{number}"))
            alternatives.append("(" + " and ".join(tests) + ")")
        if unchecked_on_refusal:
            alternatives.append(f"({_check_all(unchecked_on_refusal, '@assets')} and False)")
        else:
            alternatives.append("False")
        # ``balances.get(...)`` at each read is faster in CPython 3.11+ than a saved bound
        # method; a try block costs nothing until something raises.
        source = (
            "def evaluate(balances, /):\n"
            "    try:\n"
            f"        return {' or '.join(alternatives)}\n"
            "    except AttributeError:\n"
            "        _check_mapping(balances)\n"
            "        raise\n"
        )
    module = compile(source, "<tca-gate rule>", "exec")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


@functools.lru_cache(maxsize=512)
def _unchecked(shape: Shape) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    """The asset slots still unchecked when each group passes, and when the rule refuses.

    A group that passes has read all its assets; every group before it failed, but
    only after reading at least its first clause's asset.
    """
    every = sorted({slot for group in shape for slot, _ in group})
    checked_before: set[int] = set()
    per_group = []
    for group in shape:
        read = {slot for slot, op in group if op is not Op.UNKNOWN}
        per_group.append(tuple(k for k in every if k not in read and k not in checked_before))
        first_slot, first_op = group[0]
        if first_op is not Op.UNKNOWN:
            checked_before.add(first_slot)
    return tuple(per_group), tuple(k for k in every if k not in checked_before)


#: Up to this many assets are checked inline; more go through one call to ``_checked``.
_INLINE_CHECKS = 16


def _check_all(slots: tuple[int, ...], placeholder: str) -> str:
    """Source that checks the balances of ``slots`` (True, or raises naming the asset)."""
    if len(slots) > _INLINE_CHECKS:
        return f"_checked(balances, {placeholder!r})"
    return " and ".join(
        f"(balances.get('@a{k}', 0).__class__ is _int or _refuse(balances, '@a{k}'))" for k in slots
    )


def _looping_evaluator(groups: tuple[tuple[Clause, ...], ...]) -> Evaluator:
    assets = rule_assets(groups)
    slot = {asset: index for index, asset in enumerate(assets)}
    plan = tuple(tuple((slot[c.asset], c.op.holds, c.amount) for c in group) for group in groups)

    def evaluate(balances: Mapping[str, int], /) -> bool:
        values = balance_values(balances, assets)
        return any(all(holds(values[k], amount) for k, holds, amount in group) for group in plan)

    return _named(evaluate)
