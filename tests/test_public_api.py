"""The public surface: all users need is importable from ``tca_gate`` and listed in __all__."""

from __future__ import annotations

import inspect

import tca_gate


def test_all_is_sorted_and_complete() -> None:
    public = {
        name
        for name, value in vars(tca_gate).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public | {"__version__"} == set(tca_gate.__all__)

    # isort-style, as ruff keeps it: CONSTANTS, then Classes, then functions
    def kind(name: str) -> int:
        return 0 if name.isupper() else 1 if name[0].isupper() else 2

    assert tca_gate.__all__ == sorted(tca_gate.__all__, key=lambda name: (kind(name), name))


def test_every_exported_name_exists_and_is_documented() -> None:
    for name in tca_gate.__all__:
        value = getattr(tca_gate, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name} has no docstring"
            assert value.__module__.startswith("tca_gate"), name


def test_error_tree() -> None:
    assert issubclass(tca_gate.RuleSyntaxError, tca_gate.TcaGateError)
    assert issubclass(tca_gate.RuleSyntaxError, ValueError)
    assert issubclass(tca_gate.RuleFormatError, ValueError)
    assert issubclass(tca_gate.AmountError, ValueError)
    assert issubclass(tca_gate.InvalidBalancesError, TypeError)
    for error in (tca_gate.RuleFormatError, tca_gate.AmountError, tca_gate.InvalidBalancesError):
        assert issubclass(error, tca_gate.TcaGateError)


def test_the_issue_example_runs() -> None:
    from tca_gate import Decision, RuleSyntaxError, TcaGateError, compile_rule

    rule = compile_rule("LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR")
    legacy = compile_rule("LTBCOIN=10000&stackOp_1=OR", dialect="tokenpass")
    assert rule.evaluate({"LTBSTAFF": 100_000_000}) is True
    assert isinstance(rule.explain({"LTBSTAFF": 100_000_000}), Decision)
    assert legacy.evaluate({"LTBSTAFF": 100_000_000}) is False
    assert issubclass(RuleSyntaxError, TcaGateError)
