"""What a command is (its help, its arguments, what it runs), and the RULE arguments."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

from tca_gate.rules import Dialect

from ._console import Console

DIALECTS: tuple[str, ...] = get_args(Dialect)


@dataclass(frozen=True, slots=True)
class Command:
    """One subcommand: its help, how it adds its arguments, and what it runs."""

    name: str
    summary: str
    description: str
    examples: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Console], int]


def add_rule_arguments(parser: argparse.ArgumentParser) -> None:
    """RULE and ``--dialect``, which every command but ``test`` takes."""
    parser.add_argument("rule", metavar="RULE", help="rule text: a stack query or an expression")
    parser.add_argument(
        "--dialect",
        choices=DIALECTS,
        default="strict",
        help="how to read RULE: strict (the default) or tokenpass (as the deployed server did)",
    )
