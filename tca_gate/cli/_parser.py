"""The argument parser: one subcommand per command, no abbreviations, and its own errors."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tca_gate.__version__ import __version__
from tca_gate.errors import shorten

from ._audit import AUDIT
from ._check import CHECK, EXPLAIN
from ._command import Command
from ._console import PROG
from ._demo import DEMO
from ._echo import ECHO_LIMIT, name_list
from ._lint_fmt import FMT, LINT
from ._sandbox import SANDBOX
from ._status import STOPPED_HELP
from ._testrun import TEST

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

COMMANDS: dict[str, Command] = {
    command.name: command for command in (CHECK, EXPLAIN, LINT, FMT, TEST, AUDIT, SANDBOX, DEMO)
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose output into a closed pipe is a broken pipe, not nothing.

    argparse ignores any ``OSError`` from writing its help, usage or version, so that
    ``tca-gate --help | true`` would exit 0; here a broken pipe reaches ``main``, which
    exits ``EXIT_BROKEN_PIPE`` as for any other output. Other failures (no stderr at
    all) are still ignored, as argparse ignores them.
    """

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if not message:
            return
        try:
            (file or sys.stderr).write(message)
        except BrokenPipeError:
            raise
        except (AttributeError, OSError):  # sys.stderr is None when there is no stderr
            pass


class _CommandParser(_Parser):
    """A command's parser, which reports the arguments it does not know itself.

    argparse hands a subcommand's unknown arguments up to the top-level parser, whose
    error shows the top-level usage line (``tca-gate [-h] [--version] COMMAND ...``);
    here the command's own usage line is shown, with the option probably meant.
    """

    def parse_known_args(  # argparse parses a command's arguments with this
        self, args: Iterable[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(self._unrecognized(extras))
        return parsed, extras

    def _unrecognized(self, extras: Sequence[str]) -> str:
        known = [option for action in self._actions for option in action.option_strings]
        hints: list[tuple[str, str]] = []
        for extra in extras:
            if extra.startswith("-"):
                close = difflib.get_close_matches(extra.partition("=")[0], known, n=1)
                if close:
                    hints.append((shorten(extra, ECHO_LIMIT), close[0]))
        if len(extras) == 1:
            message = f"unrecognized argument: {shorten(extras[0], ECHO_LIMIT)}"
            return message + (f"; did you mean {hints[0][1]}?" if hints else "")
        message = f"unrecognized arguments: {name_list(extras)}"
        if not hints:
            return message
        meant = ", ".join(f"{option} for {extra}" for extra, option in hints)
        return f"{message}; did you mean {meant}?"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one subparser per entry of ``COMMANDS``.

    No parser accepts abbreviations: ``--balance`` is an error, not ``--balances``.
    """
    parser = _Parser(
        prog=PROG,
        allow_abbrev=False,
        description="Grant or refuse access by the tokens a user holds: check, explain,\n"
        "lint and format Token Controlled Access rules offline, test rule sets,\n"
        "serve a local Tokenpass sandbox for tests and demos, and run the web demo.",
        epilog="Run 'tca-gate COMMAND --help' for a command's options and examples.\n\n"
        "exit status: 0 allowed / clean / passed, 1 denied (or lint warnings under\n"
        "--fail-on-warning), 2 usage error, 3 rule error, 4 a test case failed,\n"
        "70 internal error: a bug in tca-gate, never a decision (set TCA_GATE_DEBUG=1\n"
        f"for the traceback),\n{STOPPED_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        title="commands",
        parser_class=_CommandParser,
    )
    for command in COMMANDS.values():
        sub = commands.add_parser(
            command.name,
            help=command.summary,
            description=command.description,
            epilog=command.examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )
        command.configure(sub)
        sub.set_defaults(run=command.run)
    return parser
