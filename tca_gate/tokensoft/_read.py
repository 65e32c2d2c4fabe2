"""Reading Tokensoft's answers: JSON with exact decimals, GraphQL ``errors`` raised as such."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx2

from tca_gate.errors import GraphQLProblem, TokensoftGraphQLError
from tca_gate.service import Call, ShapeError, exact_json, malformed, refusal
from tca_gate.signing.tokensoft import SERVICE, time_value
from tca_gate.wire.urls import signing_url

T = TypeVar("T")


def read_answer(call: Call[T], response: httpx2.Response) -> T:
    """The call's value from ``data``; errors, refusals and odd shapes raise ``ServiceError``."""
    data = graphql_data(response)
    try:
        return call.parse(data)
    except ShapeError as error:
        raise malformed(SERVICE, response.request, str(error), field=error.where) from None


def graphql_data(response: httpx2.Response) -> dict[str, Any]:
    """The ``data`` object of a successful GraphQL answer without ``errors``."""
    if not response.is_success:
        raise refusal(SERVICE, response)
    body = _json_of(response)
    if not isinstance(body, dict):
        raise malformed(SERVICE, response.request, "the answer is not a JSON object")
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise malformed(SERVICE, response.request, "data should be an object", field="data")
    errors = body.get("errors")
    if errors:
        problems = _problems(errors, response.request)
        raise TokensoftGraphQLError(
            problems,
            data=data,
            method=response.request.method,
            url=signing_url(str(response.request.url)),
            status=response.status_code,
        )
    if data is None:
        raise malformed(SERVICE, response.request, "the answer has neither data nor errors")
    return data


def _json_of(response: httpx2.Response) -> object:
    """The answer's JSON, every number with a fraction or exponent read as a ``Decimal``."""
    try:
        return exact_json(response.content)
    except (ValueError, RecursionError):
        raise malformed(SERVICE, response.request, "the answer is not JSON") from None


def server_time(response: httpx2.Response) -> int:
    """The epoch milliseconds a ``{ time }`` answer gives (a JSON integer or digit string)."""
    found = time_value(graphql_data(response).get("time"))
    if found is None:
        raise malformed(
            SERVICE, response.request, "time should be epoch milliseconds", field="data.time"
        )
    return found


def _problems(errors: object, request: httpx2.Request) -> tuple[GraphQLProblem, ...]:
    """Each GraphQL error as a ``GraphQLProblem``; a wrongly shaped list is malformed."""
    if not isinstance(errors, list):
        raise malformed(SERVICE, request, "errors should be a list", field="errors")
    problems = []
    for index, error in enumerate(errors):
        where = f"errors[{index}]"
        try:
            problems.append(_problem(error, where))
        except ShapeError as shape:
            raise malformed(SERVICE, request, str(shape), field=shape.where) from None
    return tuple(problems)


def _problem(error: object, where: str) -> GraphQLProblem:
    if not isinstance(error, dict):
        raise ShapeError(where, "an object", error)
    message = error.get("message")
    if not isinstance(message, str):
        raise ShapeError(f"{where}.message", "a string", message)
    path = error.get("path")
    if path is not None:
        if not isinstance(path, list) or not all(
            isinstance(part, str) or (isinstance(part, int) and not isinstance(part, bool))
            for part in path
        ):
            raise ShapeError(f"{where}.path", "a list of names and indexes", path)
        path = tuple(path)
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return GraphQLProblem(message, path, code if isinstance(code, str) else None)
