"""``Rule``: an immutable, compiled TCA rule (OR of AND groups of clauses)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

from tca_gate.errors import RuleFormatError

from ._clause import Clause
from ._decision import Decision, explain
from ._evaluator import Evaluator, build_evaluator, rule_assets
from ._format import describe, to_expr, to_pairs, to_query
from ._lint import LintWarning, lint
from ._normal_form import group_form, semantic_hash
from ._stack import DIALECTS

Groups = tuple[tuple[Clause, ...], ...]

_REPR_LIMIT = 200


class Rule:
    """A compiled rule: the OR of its ``groups``, each the AND of its clauses.

    ``rule.evaluate(balances)`` answers with a ``bool``; balances map asset
    names to ``int`` base units (1 token = 10^8) and a missing asset is 0. It
    is generated code, about as fast as a hand-written expression. Rules are
    immutable, hashable, and equal when their groups are equal.
    """

    __slots__ = ("_hash", "_label_text", "_satisfiable", "dialect", "evaluate", "groups", "source")

    groups: Groups
    source: str | tuple[tuple[object, object], ...] | None
    dialect: str
    evaluate: Evaluator
    _hash: str | None
    _label_text: str | None
    _satisfiable: tuple[bool, ...] | None

    def __init__(
        self,
        groups: Iterable[Iterable[Clause]],
        *,
        source: str | tuple[tuple[object, object], ...] | None = None,
        dialect: str = "strict",
    ) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be 'strict' or 'tokenpass', not {dialect!r}")
        frozen = tuple(tuple(group) for group in groups)
        for number, group in enumerate(frozen):
            if not group:
                raise ValueError(f"group {number} of the rule has no clauses")
            for clause in group:
                if not isinstance(clause, Clause):
                    raise TypeError(f"a rule is made of Clause objects, not {clause!r}")
        setattr_ = object.__setattr__
        setattr_(self, "groups", frozen)
        setattr_(self, "source", source)
        setattr_(self, "dialect", dialect)
        setattr_(self, "evaluate", build_evaluator(frozen))
        setattr_(self, "_hash", None)
        setattr_(self, "_label_text", None)
        setattr_(self, "_satisfiable", None)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"Rule is immutable; cannot set {name}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"Rule is immutable; cannot delete {name}")

    @property
    def clauses(self) -> tuple[Clause, ...]:
        """Every clause, in stack order."""
        return tuple(clause for group in self.groups for clause in group)

    @property
    def assets(self) -> tuple[str, ...]:
        """The assets the rule reads, in the order they first appear."""
        return rule_assets(self.groups)

    @property
    def semantic_hash(self) -> str:
        """An identifier shared by rules that decide every balance sheet alike."""
        if self._hash is None:
            object.__setattr__(self, "_hash", semantic_hash(self.groups))
        assert self._hash is not None
        return self._hash

    def explain(self, balances: Mapping[str, int]) -> Decision:
        """Each clause and group judged against ``balances``, with a sentence to act on."""
        if self._satisfiable is None:  # once per rule, not per request
            object.__setattr__(
                self, "_satisfiable", tuple(group_form(group) is not None for group in self.groups)
            )
        assert self._satisfiable is not None
        return explain(self.groups, balances, self._label(), self.semantic_hash, self._satisfiable)

    def lint(self) -> tuple[LintWarning, ...]:
        """Warnings about legal but suspicious parts of the rule (see ``LINT_CODES``)."""
        return lint(self.groups, self.source, self.dialect)

    def to_query(self) -> str:
        """Canonical stack text, e.g. ``LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR``."""
        return to_query(self.groups)

    def to_expr(self) -> str:
        """Canonical readable text, e.g. ``LTBCOIN >= 10000 or LTBSTAFF >= 1``."""
        return to_expr(self.groups)

    def to_pairs(self) -> list[tuple[str, str]]:
        """The stack as ``(key, value)`` pairs, for clients that send rules as mappings."""
        return to_pairs(self.groups)

    def _label(self) -> str:
        """The rule's readable text (or a description strict text cannot read), made once."""
        if self._label_text is None:
            try:
                text = self.to_expr()
            except RuleFormatError:
                text = describe(self.groups)
            object.__setattr__(self, "_label_text", text)
        assert self._label_text is not None
        return self._label_text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rule):
            return NotImplemented
        return self.groups == other.groups

    def __hash__(self) -> int:
        return hash(self.groups)

    def __repr__(self) -> str:
        label = self._label()
        if len(label) > _REPR_LIMIT:
            label = f"{label[:_REPR_LIMIT]}… ({len(self.clauses):,} clauses)"
        return f"Rule({label!r})"

    def __str__(self) -> str:
        return self._label()

    def __reduce__(self) -> tuple[Any, ...]:
        return (self._unpickle, (self.groups, self.source, self.dialect))

    @classmethod
    def _unpickle(cls, groups: Groups, source: Any, dialect: str) -> Rule:
        """A pickled rule, rebuilt (pickles name it by the class, a public path)."""
        return cls(groups, source=source, dialect=dialect)
