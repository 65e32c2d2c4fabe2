"""How messages repeat what the user gave (a key, an amount, a file name): cut short."""

from __future__ import annotations

from collections.abc import Collection

from tca_gate.errors import shorten

#: The most characters of a user's value (a key, an amount, a name) that a message
#: repeats (``shorten(value, ECHO_LIMIT)``); a longer value is cut short with "…", so
#: that a megabyte of key cannot make a megabyte of message.
ECHO_LIMIT = 60
#: File names get more room, so that an ordinary CI path shows whole; a longer one
#: keeps its start and its end (the file's own name).
PATH_ECHO_LIMIT = 120
#: The most characters of an exception's own text (a JSON or TOML reader's) repeated.
_REASON_LIMIT = 200
#: Integers from here up are described by their length rather than written out.
_LONG_INTEGER = 10**ECHO_LIMIT


def quoted(text: str) -> str:
    """A user's string as ``repr`` shows it, cut short."""
    return repr(shorten(text, ECHO_LIMIT))


def clip_path(path: str) -> str:
    """A file name cut short in the middle, so that both its start and its last part show."""
    if len(path) <= PATH_ECHO_LIMIT:
        return path
    head = PATH_ECHO_LIMIT // 3
    return path[:head] + "…" + path[len(path) - (PATH_ECHO_LIMIT - head - 1) :]


def integer_text(value: int) -> str | None:
    """An integer's digits, or ``None`` when there are too many to repeat.

    ``str`` of an integer past Python's 4300-digit limit raises ``ValueError``, so a
    long integer must never reach an f-string.
    """
    return str(value) if abs(value) < _LONG_INTEGER else None


def name_list(names: Collection[str], most: int = 5) -> str:
    """The first few names, each cut short, and how many more there are."""
    listed = [shorten(name, ECHO_LIMIT) for name in list(names)[:most]]
    if len(names) > most:
        listed.append(f"and {len(names) - most} more")
    return ", ".join(listed) or "none"


def reason(error: BaseException) -> str:
    """Why reading failed, in the reader's words, on one line and cut short."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return shorten(_one_line(str(error)), _REASON_LIMIT)


def _one_line(text: str) -> str:
    return " ".join(text.split())
