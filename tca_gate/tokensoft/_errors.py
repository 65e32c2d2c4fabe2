"""``TokensoftGraphQLError``: an answer that carried GraphQL ``errors``, each with its path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tca_gate._service_errors import ServiceError, one_line

from ._wire import SERVICE


@dataclass(frozen=True, slots=True)
class GraphQLProblem:
    """One entry of a GraphQL answer's ``errors``.

    ``path`` is where in ``data`` it happened (field names and list indexes), ``None``
    when the error is about the whole request (a validation error, say); ``code`` is
    ``extensions.code`` when the server gives one.
    """

    message: str
    path: tuple[str | int, ...] | None = None
    code: str | None = None

    @property
    def where(self) -> str | None:
        """The path as text (``whitelistUser`` or ``prices.history.2``)."""
        return None if self.path is None else ".".join(str(part) for part in self.path)


class TokensoftGraphQLError(ServiceError):
    """Tokensoft answered, but with GraphQL ``errors`` (raised even beside partial ``data``).

    ``problems`` holds every error (message, path, code); ``message``, ``field`` and
    ``code`` repeat the first one's; ``data`` is whatever ``data`` came with them.
    """

    verb = "answered with errors to"

    def __init__(
        self,
        problems: tuple[GraphQLProblem, ...],
        *,
        data: dict[str, Any] | None,
        method: str,
        url: str,
        status: int | None = None,
    ) -> None:
        first = problems[0]
        message = first.message
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more)"
        super().__init__(
            message,
            service=SERVICE,
            method=method,
            url=url,
            status=status,
            field=first.where,
            code=first.code,
        )
        self.problems = problems
        self.data = data

    def __str__(self) -> str:
        detail = self.message
        if self.field is not None:
            detail += f" (at {self.field})"
        return f"{self.service} {self.verb} {self.method} {self.path}: {one_line(detail)}"
