"""Turning an HTTP answer into the call's value, or into the ``ServiceError`` it means."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import TypeVar

import httpx2

from tca_gate.errors import (
    MalformedResponseError,
    ServiceError,
    ServiceUnavailableError,
    error_class_for,
)
from tca_gate.wire.urls import signing_url

from ._call import Call
from ._retry import parse_retry_after
from ._shape import ShapeError

T = TypeVar("T")


#: The answer a ``done_if_gone`` call's earlier, unanswered attempt would have had.
_DONE = {"result": True}


def read_answer(
    service: str,
    call: Call[T],
    response: httpx2.Response,
    *,
    retry: bool = False,
    errors: Mapping[int, type[ServiceError]] | None = None,
) -> T:
    """The parsed value of a successful answer; any other answer raises its ``ServiceError``.

    On a ``retry`` of a ``done_if_gone`` call, 404 is success: an earlier attempt did it.
    ``errors``: the service's own error classes by status, before the shared ones.
    """
    if retry and call.done_if_gone and response.status_code == httpx2.codes.NOT_FOUND:
        return call.parse(_DONE)
    if not response.is_success:
        raise refusal(service, response, errors)
    try:
        data = json.loads(response.content)
    except (ValueError, RecursionError):
        raise malformed(service, response.request, "the answer is not JSON") from None
    try:
        return call.parse(data)
    except ShapeError as error:
        raise malformed(service, response.request, str(error), field=error.where) from None


def exact_json(content: bytes) -> object:
    """JSON with every number that has a fraction or exponent a ``Decimal``, never a float;
    ``NaN`` and ``Infinity`` (not JSON) raise ``ValueError`` as any other bad JSON does."""
    return json.loads(content, parse_float=Decimal, parse_constant=_no_constant)


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def refusal(
    service: str,
    response: httpx2.Response,
    errors: Mapping[int, type[ServiceError]] | None = None,
) -> ServiceError:
    """The error for an answer that is not a success, with the service's own explanation;
    its class from ``errors`` (the service's own, by status) or the shared ones."""
    message, field, code = _explanation(response)
    status = response.status_code
    kind = errors.get(status) if errors else None
    return (kind or error_class_for(status))(
        message,
        service=service,
        method=response.request.method,
        url=signing_url(str(response.request.url)),
        status=response.status_code,
        field=field,
        code=code,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


def malformed(
    service: str, request: httpx2.Request, message: str, *, field: str | None = None
) -> MalformedResponseError:
    """The error for a successful answer whose content is not what the call expects."""
    return MalformedResponseError(
        message,
        service=service,
        method=request.method,
        url=signing_url(str(request.url)),
        field=field or None,
    )


@contextmanager
def failures_mapped(service: str, request: httpx2.Request) -> Iterator[None]:
    """Raise the ``ServiceError`` for a failure while ``request`` is sent and its answer read."""
    try:
        yield
    except httpx2.TransportError as error:
        raise unreachable(service, request, error) from error
    except httpx2.DecodingError as error:
        raise malformed(service, request, "the answer could not be decoded") from error


def unreachable(
    service: str, request: httpx2.Request, error: httpx2.TransportError
) -> ServiceUnavailableError:
    """The error for a call that got no answer: no connection, a broken one, or a timeout."""
    if isinstance(error, httpx2.TimeoutException):
        what = {
            httpx2.ConnectTimeout: "connecting timed out",
            httpx2.ReadTimeout: "no answer in time",
            httpx2.WriteTimeout: "sending timed out",
            httpx2.PoolTimeout: "no free connection in time",
        }.get(type(error), "timed out")
    elif isinstance(error, httpx2.ConnectError):
        what = "could not connect"
    else:
        what = f"the connection failed ({type(error).__name__})"
    return ServiceUnavailableError(
        what, service=service, method=request.method, url=signing_url(str(request.url))
    )


def _explanation(response: httpx2.Response) -> tuple[str, str | None, str | None]:
    """The message, field and error code an error answer carries, as far as it says."""
    fallback = response.reason_phrase or "no explanation given"
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        return fallback, None, None
    if not isinstance(body, dict):
        return fallback, None, None
    error, description = body.get("error"), body.get("error_description")
    message = body.get("message")
    field = body.get("field") if isinstance(body.get("field"), str) else None
    if isinstance(description, str) and isinstance(error, str):
        return description, field, error
    if isinstance(message, str) and isinstance(error, str):
        return message, field, error
    for text in (error, message, _joined(body.get("errors"))):
        if isinstance(text, str) and text:
            return text, field, None
    return fallback, field, None


def _joined(errors: object) -> str | None:
    """Tokenly's flat ``errors`` list (``["Resource not found."]``) as one message."""
    if isinstance(errors, list) and errors and all(isinstance(item, str) for item in errors):
        return " ".join(errors)
    return None
