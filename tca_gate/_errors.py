"""The exceptions tca-gate raises.

TcaGateError
├── RuleSyntaxError       (also ValueError) a rule's text or mapping cannot be read
├── RuleFormatError       (also ValueError) a rule cannot be written in the form asked for
├── AmountError           (also ValueError) a token amount is not an exact decimal
├── InvalidBalancesError  (also TypeError)  balances are not a mapping of asset to int
├── InvalidArgumentError  (also ValueError) an argument or setting was refused before any call
├── TokenlySignatureError                   a request's Tokenly HMAC auth was refused
├── UnknownHolderError, BalanceUnavailableError, BalanceFileError (also ValueError)
│                                           tca_gate.balances could not read a holder's balances
└── ServiceError                            a call to Tokenpass (or another service) failed:
    ServiceUnavailableError, MalformedResponseError, AuthenticationError (401),
    PermissionDeniedError (403), NotFoundError (404), ConflictError (409),
    InvalidRequestError (400, 422; also ValueError), RateLimitError (429), ServerError (5xx),
    ClientClosedError (also RuntimeError: the client was used after it was closed)
"""

from __future__ import annotations

from collections.abc import Sequence

_CONTEXT_WIDTH = 72


class TcaGateError(Exception):
    """The root of every error tca-gate raises on purpose."""


class RuleSyntaxError(TcaGateError, ValueError):
    """A rule could not be read; says which key, where, and what would have been accepted.

    ``position`` is the 0-based character offset in ``text`` (``None`` when the
    problem has no single place, such as an empty rule).
    """

    def __init__(
        self,
        message: str,
        *,
        text: str | None = None,
        position: int | None = None,
        length: int = 1,
        key: str | None = None,
        expected: Sequence[str] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.position = position
        self.length = max(1, length)
        self.key = key
        self.expected = tuple(expected)
        self.hint = hint

    def __str__(self) -> str:
        lines = [self.message]
        if self.position is not None:
            lines[0] += f" (at character {self.position})"
        if self.text is not None and self.position is not None:
            lines.extend(caret_context(self.text, self.position, self.length))
        if self.expected:
            lines.append("  expected: " + _or_list(self.expected))
        if self.hint:
            lines.append("  hint: " + self.hint)
        return "\n".join(lines)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_syntax_error, (self.message, self.__dict__))


def _rebuild_syntax_error(message: str, state: dict[str, object]) -> RuleSyntaxError:
    error = RuleSyntaxError(message)
    error.__dict__.update(state)
    return error


class RuleFormatError(TcaGateError, ValueError):
    """A rule holds something the requested text form cannot express."""


class AmountError(TcaGateError, ValueError):
    """A token amount is not a plain decimal with at most 8 decimal places."""


class InvalidBalancesError(TcaGateError, TypeError):
    """Balances must map asset names to ``int`` base units; nothing else is coerced."""


class InvalidArgumentError(TcaGateError, ValueError):
    """An argument or setting was refused before anything was sent; the message names it."""


def shorten(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, for echoing input in messages."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def caret_context(text: str, position: int, length: int = 1) -> list[str]:
    """The line of ``text`` around ``position`` with a caret line under the problem."""
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    line = text[start : len(text) if end < 0 else end]
    column = position - start
    width = max(1, min(length, len(line) - column))
    prefix = ""
    if len(line) > _CONTEXT_WIDTH:
        left = max(0, min(column - _CONTEXT_WIDTH // 3, len(line) - _CONTEXT_WIDTH))
        shown = line[left : left + _CONTEXT_WIDTH]
        prefix = "…" if left else ""
        suffix = "…" if left + _CONTEXT_WIDTH < len(line) else ""
        column -= left
        width = max(1, min(width, len(shown) - column))
        line = prefix + shown + suffix
        column += len(prefix)
    visible = line.replace("\t", " ")
    return ["  " + visible, "  " + " " * column + "^" * width]


def _or_list(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]
