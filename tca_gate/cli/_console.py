"""Where a command writes: plain or coloured lines, JSON, and the table of a decision."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from tca_gate.rules import ClauseResult, Decision, format_tokens

PROG = "tca-gate"

_GREEN, _RED, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[0m"


@dataclass(frozen=True, slots=True)
class Console:
    """Where a command writes, and whether stdout may be coloured."""

    out: TextIO
    err: TextIO
    colour: bool

    @classmethod
    def standard(cls) -> Console:
        out = sys.stdout
        return cls(out, sys.stderr, _wants_colour(out, os.environ))

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def warn(self, text: str) -> None:
        print(f"{PROG}: warning: {text}", file=self.err)

    def good(self, text: str) -> str:
        return f"{_GREEN}{text}{_RESET}" if self.colour else text

    def bad(self, text: str) -> str:
        return f"{_RED}{text}{_RESET}" if self.colour else text

    def verdict(self, passed: bool, text: str) -> str:
        return self.good(text) if passed else self.bad(text)


def _wants_colour(stream: TextIO, environ: Mapping[str, str]) -> bool:
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def print_json(console: Console, document: object) -> None:
    console.say(json.dumps(document, indent=2, ensure_ascii=False))


def decision_lines(decision: Decision, console: Console) -> list[str]:
    """The decision's sentence and a table of every clause, amounts in tokens."""
    header = ("asset", "op", "required", "actual", "result", "shortfall")
    rows = [
        [c.asset, c.op, format_tokens(c.required), format_tokens(c.actual), *_outcome(c)]
        for g in decision.groups
        for c in g.clauses
    ]
    widths = [max(len(row[i]) for row in [list(header), *rows]) for i in range(len(header))]
    numeric = {2, 3, 5}

    def line(cells: Sequence[str], passed: bool | None = None) -> str:
        padded = [
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        if passed is not None:
            padded[4] = console.verdict(passed, padded[4])
        return "    " + "  ".join(padded).rstrip()

    lines = [decision.summary, "", f"rule: {decision.rule}", line(header)]
    rows_left = iter(rows)
    for group in decision.groups:
        closest = " (closest)" if group.index == decision.closest and not decision.allowed else ""
        outcome = console.verdict(group.passed, "pass" if group.passed else "fail")
        lines.append(f"  group {group.index}{closest}: {outcome}")
        lines.extend(line(next(rows_left), clause.passed) for clause in group.clauses)
    return lines


def _outcome(clause: ClauseResult) -> tuple[str, str]:
    if clause.passed:
        return "pass", "0"
    if clause.shortfall is None:
        return "fail", "impossible"
    sign = "+" if clause.shortfall > 0 else "-"
    return "fail", sign + format_tokens(abs(clause.shortfall))
