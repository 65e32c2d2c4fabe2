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
from collections.abc import Callable, Mapping
from typing import NoReturn

from ._clause import Clause, Op
from ._errors import InvalidBalancesError

Evaluator = Callable[[Mapping[str, int]], bool]
Shape = tuple[tuple[Op, ...], ...]

#: Rules with more clauses than this are evaluated by a loop instead of generated code.
CODEGEN_LIMIT = 256

_TESTS = {
    Op.GE: "v >= {n}",
    Op.GT: "v > {n}",
    Op.EQ: "v == {n}",
    Op.NE: "v != {n}",
    Op.LT: "0 < v < {n}",
    Op.LE: "0 < v <= {n}",
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


def _checked(balances: object) -> bool:
    """Refuse anything that is not a mapping (it must at least have ``get``)."""
    if not callable(getattr(balances, "get", None)):
        reject_mapping(balances)
    return True


def reject_mapping(balances: object) -> NoReturn:
    raise InvalidBalancesError(
        f"balances must be a mapping of asset name to int base units, not {type(balances).__name__}"
    )


_GLOBALS: dict[str, object] = {
    "__builtins__": {},
    "AttributeError": AttributeError,
    "_int": int,
    "_reject": reject_balance,
    "_checked": _checked,
}


def build_evaluator(groups: tuple[tuple[Clause, ...], ...]) -> Evaluator:
    """A function ``balances -> bool`` for the rule made of ``groups`` (OR of ANDs)."""
    if sum(map(len, groups)) > CODEGEN_LIMIT:
        return _looping_evaluator(groups)
    code = _template(tuple(tuple(c.op for c in group) for group in groups))
    values: dict[str, object] = {}
    for index, clause in enumerate(c for group in groups for c in group):
        values[f"@a{index}"] = clause.asset
        values[f"@n{index}"] = clause.amount
    consts = tuple(
        values.get(const, const) if isinstance(const, str) else const for const in code.co_consts
    )
    evaluator: Evaluator = types.FunctionType(code.replace(co_consts=consts), _GLOBALS, "evaluate")
    evaluator.__qualname__ = "Rule.evaluate"
    return evaluator


@functools.lru_cache(maxsize=512)
def _template(shape: Shape) -> types.CodeType:
    """Compile the evaluator for one shape, with ``'@aN'`` / ``'@nN'`` standing for constants."""
    counter = 0
    alternatives = []
    for ops in shape:
        tests = []
        for op in ops:
            read = (
                f"((v := balances.get('@a{counter}', 0)).__class__ is _int"
                f" or _reject('@a{counter}', v))"
            )
            if op is Op.UNKNOWN:
                tests.append("False")
            else:
                tests.append(f"{read} and {_TESTS[op].format(n=repr(f'@n{counter}'))}")
            counter += 1
        alternatives.append("(" + " and ".join(tests) + ")")
    body = " or ".join(alternatives) or "_checked(balances) and False"
    # ``balances.get(...)`` at each read is faster in CPython 3.11+ than a saved bound
    # method; a try block costs nothing until something raises.
    source = (
        "def evaluate(balances, /):\n"
        "    try:\n"
        f"        return {body}\n"
        "    except AttributeError:\n"
        "        _checked(balances)\n"
        "        raise\n"
    )
    module = compile(source, "<tca-gate rule>", "exec")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


def _looping_evaluator(groups: tuple[tuple[Clause, ...], ...]) -> Evaluator:
    plan = tuple(tuple((c.asset, c.op.holds, c.amount) for c in group) for group in groups)

    def evaluate(balances: Mapping[str, int], /) -> bool:
        try:
            get = balances.get
        except AttributeError:
            reject_mapping(balances)
        for group in plan:
            for asset, holds, amount in group:
                value = get(asset, 0)
                if value.__class__ is not int:
                    reject_balance(asset, value)
                if not holds(value, amount):
                    break
            else:
                return True
        return False

    return evaluate
