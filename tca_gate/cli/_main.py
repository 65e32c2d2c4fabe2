"""``main``: run the command line, and turn every way it can end into an exit status."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from tca_gate.errors import RuleFormatError, RuleSyntaxError

from ._console import PROG, Console
from ._echo import reason
from ._parser import build_parser
from ._status import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL_ERROR,
    EXIT_INTERRUPTED,
    EXIT_RULE_ERROR,
    EXIT_USAGE,
    CliError,
)

#: Set (non-empty) to print the traceback of an internal error.
DEBUG_VARIABLE = "TCA_GATE_DEBUG"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tca-gate`` command line; returns the exit code.

    An exception nobody expected is reported as an internal error, exit 70: it must
    never end as 0 (allowed) or 1 (denied). Neither must a closed stdout (exit 141,
    whatever the command) or Ctrl-C (exit 130, without a traceback).
    """
    try:
        code = _main(argv)
        if sys.stdout is not None:  # None when the process was started without a stdout
            sys.stdout.flush()  # a closed pipe is found here, not in the interpreter's last flush
        return code
    except BrokenPipeError:  # the reader left early (``| head``): no traceback, no answer
        _detach_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as error:  # the last line of defence, by design
        return _internal_error(error)


def _internal_error(error: Exception) -> int:
    """One line on stderr (after the traceback under ``TCA_GATE_DEBUG``); exit 70."""
    debug = bool(os.environ.get(DEBUG_VARIABLE))
    try:
        message = reason(error)
    except Exception:  # an exception whose text cannot be made: its type still says a lot
        message = "(its message cannot be shown)"
    hint = "" if debug else f"; set {DEBUG_VARIABLE}=1 for the traceback"
    line = (
        f"{PROG}: internal error: {type(error).__name__}{': ' + message if message else ''} "
        f"(a bug in {PROG}, not a decision: please report it with the command that caused "
        f"it{hint})"
    )
    try:
        if debug:
            traceback.print_exception(error, file=sys.stderr)
        print(line, file=sys.stderr)
    except (OSError, ValueError):  # stderr is closed or gone: the exit code still says it
        pass
    return EXIT_INTERNAL_ERROR


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse exits on --help, --version and usage errors
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    console = Console.standard()
    try:
        code: int = args.run(args, console)
    except CliError as error:
        kind = "rule error" if error.code == EXIT_RULE_ERROR else "error"
        print(f"{PROG} {args.command}: {kind}: {error.message}", file=console.err)
        return error.code
    except (RuleSyntaxError, RuleFormatError) as error:
        print(f"{PROG} {args.command}: rule error: {error}", file=console.err)
        return EXIT_RULE_ERROR
    return code


def _detach_stdout() -> None:
    """Point stdout at the null device so that the interpreter's last flush cannot fail."""
    try:
        stdout = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (AttributeError, OSError, ValueError):  # None, or not a real file (in tests)
        return
    try:
        os.dup2(devnull, stdout)
    except OSError:
        pass
    finally:
        os.close(devnull)
