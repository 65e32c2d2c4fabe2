"""Reading a file or stdin the CLI is given, never more than ``MAX_INPUT`` bytes: so that
``--balances @/dev/zero`` is a usage error (exit 2), not a process eating all memory."""

from __future__ import annotations

import sys

from ._status import EXIT_USAGE, CliError

#: The most bytes read from any file or stdin (balances, a test file): far above any
#: real balance sheet or test suite.
MAX_INPUT = 4 * 1024 * 1024
MAX_INPUT_TEXT = "4 MiB"


def read_limited(source: str, what: str) -> bytes:
    """The bytes of the file ``source`` (``-``: stdin); ``what`` names it in the
    ``CliError`` (exit 2) for more than ``MAX_INPUT`` bytes. ``OSError`` as reading raises it."""
    if source == "-":
        data = sys.stdin.buffer.read(MAX_INPUT + 1)
    else:
        with open(source, "rb") as file:
            data = file.read(MAX_INPUT + 1)
    if len(data) > MAX_INPUT:
        raise CliError(
            EXIT_USAGE,
            f"{what} is more than {MAX_INPUT_TEXT} ({MAX_INPUT} bytes), "
            "the most tca-gate reads from a file or stdin",
        )
    return data
