"""Compiled evaluators: a rule becomes a Python function as fast as one written by hand.

For a rule of a given shape (its groups' sizes and operators) one function is
generated and compiled; rules of the same shape reuse its code object with
their own assets and amounts swapped in as constants. Every balance read is
checked to be an ``int`` (never coerced): anything else raises
``InvalidBalancesError``.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterable, Mapping
from typing import NoReturn

from ._clause import Clause, Op
from ._errors import InvalidBalancesError

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


_GLOBALS: dict[str, object] = {
    "__builtins__": {},
    "AttributeError": AttributeError,
    "_int": int,
    "_check_mapping": check_mapping,
    "_balance_values": balance_values,
}


def build_evaluator(groups: tuple[tuple[Clause, ...], ...]) -> Evaluator:
    """A function ``balances -> bool`` for the rule made of ``groups`` (OR of ANDs).

    Every asset the rule names is read once and checked before any clause is
    decided, so the answer (or the refusal) never depends on clause order.
    """
    if sum(map(len, groups)) > CODEGEN_LIMIT:
        return _looping_evaluator(groups)
    assets = rule_assets(groups)
    slot = {asset: index for index, asset in enumerate(assets)}
    code = _template(tuple(tuple((slot[c.asset], c.op) for c in group) for group in groups))
    values: dict[str, object] = {"@assets": assets}
    values.update((f"@a{index}", asset) for index, asset in enumerate(assets))
    for index, clause in enumerate(c for group in groups for c in group):
        values[f"@n{index}"] = clause.amount
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

    ``'@aK'`` (asset K), ``'@nI'`` (clause I's amount) and ``'@assets'`` stand
    for the constants each rule of this shape swaps in.
    """
    slots = sorted({slot for group in shape for slot, _ in group})
    if not slots:
        source = "def evaluate(balances, /):\n    _check_mapping(balances)\n    return False\n"
    else:
        reads = " and ".join(f"(v{k} := balances.get('@a{k}', 0)).__class__ is _int" for k in slots)
        counter = iter(range(sum(map(len, shape))))
        alternatives = []
        for group in shape:
            tests = []
            for slot, op in group:
                amount = repr(f"@n{next(counter)}")
                tests.append(
                    "False" if op is Op.UNKNOWN else _TESTS[op].format(v=f"v{slot}", n=amount)
                )
            alternatives.append("(" + " and ".join(tests) + ")")
        # ``balances.get(...)`` at each read is faster in CPython 3.11+ than a saved bound
        # method; a try block costs nothing until something raises.
        source = (
            "def evaluate(balances, /):\n"
            "    try:\n"
            f"        if {reads}:\n"
            f"            return {' or '.join(alternatives)}\n"
            "    except AttributeError:\n"
            "        _check_mapping(balances)\n"
            "        raise\n"
            "    _balance_values(balances, '@assets')  # raises, naming the asset\n"
            "    raise AssertionError('unreachable')\n"
        )
    module = compile(source, "<tca-gate rule>", "exec")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


def _looping_evaluator(groups: tuple[tuple[Clause, ...], ...]) -> Evaluator:
    assets = rule_assets(groups)
    slot = {asset: index for index, asset in enumerate(assets)}
    plan = tuple(tuple((slot[c.asset], c.op.holds, c.amount) for c in group) for group in groups)

    def evaluate(balances: Mapping[str, int], /) -> bool:
        values = balance_values(balances, assets)
        return any(all(holds(values[k], amount) for k, holds, amount in group) for group in plan)

    return _named(evaluate)
