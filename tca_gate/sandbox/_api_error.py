"""``ApiError``: how a handler refuses a request, and the JSON error answer it becomes."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse


class ApiError(Exception):
    """Refuses a request with ``status``; ``field`` names the parameter at fault, if one is."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = dict(headers or {})

    def response(self, *, with_result: bool) -> JSONResponse:
        """``{"error", "field"?, "result": false?}`` with the error's status."""
        body: dict[str, object] = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        if with_result:
            body["result"] = False
        return JSONResponse(body, self.status, headers=self.headers)


def not_found(what: str, field: str | None = None) -> ApiError:
    """A 404 naming what was not found."""
    return ApiError(404, f"{what} not found", field=field)


def invalid(field: str, problem: str) -> ApiError:
    """A 422 for a missing or invalid field."""
    return ApiError(422, f"{field}: {problem}", field=field)
