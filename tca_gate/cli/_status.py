"""Exit statuses, and ``CliError``, which stops a command with one."""

from __future__ import annotations

EXIT_OK = 0
EXIT_DENIED = 1
EXIT_USAGE = 2
EXIT_RULE_ERROR = 3
EXIT_TEST_FAILED = 4
#: EX_SOFTWARE (``sysexits.h``): an exception nobody expected, never a decision.
EXIT_INTERNAL_ERROR = 70
#: 128 + SIGINT, as the shell reports a process stopped by Ctrl-C.
EXIT_INTERRUPTED = 130
#: 128 + SIGPIPE, as the shell reports a process stopped by writing to a closed pipe
#: (``tca-gate test big.toml | head``): not 1, which would read as "denied".
EXIT_BROKEN_PIPE = 141

#: The statuses every command shares that are not its answer: the end of each help.
STOPPED_HELP = """\
130 interrupted (Ctrl-C), 141 stdout closed before the output was all written
(a broken pipe, as in | head)"""


class CliError(Exception):
    """Stops a command: ``message`` goes to stderr and ``code`` becomes the exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
