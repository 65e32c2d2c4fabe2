"""Every answer that is not a success becomes the right ``ServiceError``, readably."""

from __future__ import annotations

import asyncio
import pickle

import httpx2
import pytest

from tca_gate import TcaGateError
from tca_gate.errors import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ServiceError,
    ServiceUnavailableError,
)
from tca_gate.tokenpass import AsyncTokenpassClient, TokenpassClient

BASE = "https://tokenpass.example"
OAUTH_TOKEN = "user-secret-token-abc"


def client_answering(response: httpx2.Response) -> TokenpassClient:
    return TokenpassClient(
        BASE,
        "client-id",
        "client-secret",
        retries=0,
        transport=httpx2.MockTransport(lambda _: response),
    )


def failure(response: httpx2.Response) -> ServiceError:
    with client_answering(response) as tokenpass, pytest.raises(ServiceError) as raised:
        tokenpass.check_token_access("alice", "LTBCOIN=1", OAUTH_TOKEN)
    return raised.value


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, InvalidRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (418, ServiceError),
        (302, ServiceError),
    ],
)
def test_each_status_class_has_its_error(status: int, error_class: type[ServiceError]) -> None:
    error = failure(httpx2.Response(status, json={"error": "it went wrong", "result": False}))
    assert type(error) is error_class
    assert isinstance(error, TcaGateError)
    assert (error.status, error.message, error.method) == (status, "it went wrong", "GET")
    assert error.url == f"{BASE}/api/v1/tca/check/alice"


def test_the_message_names_the_call_and_the_service_words() -> None:
    error = failure(httpx2.Response(403, json={"error": "the token lacks the tca scope"}))
    assert str(error) == (
        "Tokenpass refused GET /api/v1/tca/check/alice: 403 the token lacks the tca scope"
    )
    server = failure(
        httpx2.Response(503, json={"error": "maintenance"}, headers={"Retry-After": "9"})
    )
    assert str(server) == (
        "Tokenpass failed GET /api/v1/tca/check/alice: 503 maintenance; retry after 9 s"
    )


def test_the_oauth_token_in_the_query_never_reaches_the_error() -> None:
    error = failure(httpx2.Response(401, json={"error": "bad token"}))
    assert OAUTH_TOKEN not in str(error)
    assert OAUTH_TOKEN not in repr(error.__dict__)


def test_a_refused_field_is_named_and_validation_errors_are_value_errors() -> None:
    error = failure(
        httpx2.Response(422, json={"error": "more than the source holds", "field": "quantity"})
    )
    assert isinstance(error, ValueError)
    assert error.field == "quantity"
    assert str(error).endswith("422 more than the source holds (field 'quantity')")
    named = failure(
        httpx2.Response(422, json={"error": "quantity is too big", "field": "quantity"})
    )
    assert str(named).endswith("422 quantity is too big")


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        (
            {"error": "invalid_grant", "error_description": "the code expired"},
            "the code expired",
            "invalid_grant",
        ),
        (
            {"error": "bad-signature", "message": "the signature does not match"},
            "the signature does not match",
            "bad-signature",
        ),
        ({"message": "Too Many Attempts."}, "Too Many Attempts.", None),
        ({"errors": ["Resource not found.", "Try again."]}, "Resource not found. Try again.", None),
        ({"errors": [{"nested": 1}]}, "Unauthorized", None),
        ({"result": False}, "Unauthorized", None),
        ([1, 2], "Unauthorized", None),
    ],
)
def test_the_explanation_is_read_from_each_error_style(
    body: object, message: str, code: str | None
) -> None:
    error = failure(httpx2.Response(401, json=body))
    assert (error.message, error.code) == (message, code)


def test_an_html_error_page_gives_the_reason_phrase_not_the_page() -> None:
    error = failure(httpx2.Response(502, text="<html>" + "x" * 5000 + "</html>"))
    assert error.message == "Bad Gateway"
    assert "<html>" not in str(error)


def test_a_long_service_message_is_shortened() -> None:
    error = failure(httpx2.Response(400, json={"error": "y" * 5000}))
    assert len(error.message) <= 300
    assert error.message.endswith("…")


@pytest.mark.parametrize(
    "content",
    [b"<html>ok</html>", b"", b'{"result": tru', b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000],
    ids=["html", "empty", "cut", "binary", "nested-too-deep"],
)
def test_a_success_that_is_not_json_is_malformed_not_a_crash(content: bytes) -> None:
    error = failure(httpx2.Response(200, content=content))
    assert type(error) is MalformedResponseError
    assert str(error) == (
        "Tokenpass sent an unexpected answer to GET /api/v1/tca/check/alice: the answer is not JSON"
    )


def test_a_success_in_the_wrong_shape_names_the_field() -> None:
    error = failure(httpx2.Response(200, json={"result": "yes"}))
    assert type(error) is MalformedResponseError
    assert error.field == "result"
    assert error.message == "result should be true or false, not a string"


@pytest.mark.parametrize(
    ("exception", "message"),
    [
        (httpx2.ConnectError("refused"), "could not connect"),
        (httpx2.ConnectTimeout("slow"), "connecting timed out"),
        (httpx2.ReadTimeout("slow"), "no answer in time"),
        (httpx2.RemoteProtocolError("closed"), "the connection failed (RemoteProtocolError)"),
    ],
)
def test_no_answer_is_service_unavailable(exception: httpx2.TransportError, message: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise exception

    transport = httpx2.MockTransport(handler)
    with (
        TokenpassClient(BASE, "id", "secret", retries=0, transport=transport) as tokenpass,
        pytest.raises(ServiceUnavailableError) as raised,
    ):
        tokenpass.get_public_addresses("alice")
    assert raised.value.status is None
    assert raised.value.__cause__ is exception
    assert str(raised.value) == (
        f"Tokenpass could not be reached for GET /api/v1/tca/addresses/alice: {message}"
    )


def test_the_async_client_maps_errors_alike() -> None:
    async def run() -> ServiceError:
        transport = httpx2.MockTransport(
            lambda _: httpx2.Response(404, json={"error": "Username not found"})
        )
        async with AsyncTokenpassClient(BASE, "id", "secret", transport=transport) as tokenpass:
            with pytest.raises(ServiceError) as raised:
                await tokenpass.check_token_access("nobody", {"LTBCOIN": 1}, OAUTH_TOKEN)
        return raised.value

    error = asyncio.run(run())
    assert type(error) is NotFoundError
    assert str(error) == "Tokenpass refused GET /api/v1/tca/check/nobody: 404 Username not found"


def test_errors_survive_pickling() -> None:
    error = failure(httpx2.Response(429, json={"error": "slow down"}, headers={"Retry-After": "3"}))
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is RateLimitError
    assert (copy.retry_after, copy.status, str(copy)) == (3.0, 429, str(error))


def test_a_deeply_nested_error_answer_falls_back_to_the_reason_phrase() -> None:
    error = failure(httpx2.Response(400, content=b'{"error":' * 100_000))
    assert (type(error), error.message) == (InvalidRequestError, "Bad Request")


def test_a_service_message_cannot_forge_log_lines() -> None:
    forged = "bad\r\n2024-01-01 INFO login ok user=admin\x1b[2J\u2028\u202e\tend"
    error = failure(httpx2.Response(400, json={"error": forged}))
    assert str(error) == (
        "Tokenpass refused GET /api/v1/tca/check/alice: "
        "400 bad 2024-01-01 INFO login ok user=admin [2J end"
    )
    assert error.message.isprintable()
