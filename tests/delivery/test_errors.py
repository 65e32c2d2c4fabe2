"""Each error code of the Token Delivery document becomes its own error, from a real server;
the bodies Tokenly's servers answer (403 and 422 ``{"message", "errors": [...]}``) and the
older forms the client also reads (401 ``{"error", "message"}``, a ``field``) each mapped."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tca_gate.delivery import (
    AsyncDeliveryClient,
    DeliveryClient,
    ForbiddenError,
    MaintenanceError,
    MethodNotAllowedError,
    UnprocessableEntityError,
)
from tca_gate.delivery._read import done
from tca_gate.delivery.testing import DeliveryEmulator
from tca_gate.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ServiceError,
)
from tca_gate.service import Call
from tests.support.servers import serve

TOKEN, SECRET = "Terrors", "Kerrors"

#: The document's codes and the error each raises (the most specific class).
CODES = {
    400: InvalidRequestError,
    403: ForbiddenError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: ServerError,
    503: MaintenanceError,
}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[DeliveryEmulator, str]]:
    emulator = DeliveryEmulator({TOKEN: SECRET})
    with serve(emulator) as url:
        yield emulator, url


def test_the_codes_map_to_distinct_classes() -> None:
    assert len(set(CODES.values())) == len(CODES)


@pytest.mark.parametrize(("status", "expected"), sorted(CODES.items()))
def test_each_code_raises_its_error_sync_and_async(
    served: tuple[DeliveryEmulator, str], status: int, expected: type[ServiceError]
) -> None:
    emulator, url = served
    emulator.fail_next(status)
    with DeliveryClient(url, TOKEN, SECRET, retries=0) as tds, pytest.raises(expected) as sync:
        tds.get_source_address_list()
    assert type(sync.value) is expected
    assert (sync.value.status, sync.value.method, sync.value.path) == (
        status,
        "GET",
        "/api/v1/source",
    )
    assert sync.value.service == "Token Delivery"

    async def call_async() -> None:
        async with AsyncDeliveryClient(url, TOKEN, SECRET, retries=0) as tds:
            await tds.get_delivery_list()

    emulator.fail_next(status)
    with pytest.raises(expected) as async_:
        asyncio.run(call_async())
    assert type(async_.value) is expected
    assert async_.value.path == "/api/v1/delivery"


def test_refined_classes_still_are_their_shared_parents() -> None:
    assert issubclass(ForbiddenError, AuthenticationError)
    assert issubclass(ForbiddenError, PermissionDeniedError)
    assert issubclass(UnprocessableEntityError, InvalidRequestError)
    assert issubclass(MaintenanceError, ServerError)
    assert not issubclass(MethodNotAllowedError, InvalidRequestError)


def test_a_wrong_method_on_a_real_endpoint_is_method_not_allowed(
    served: tuple[DeliveryEmulator, str],
) -> None:
    _, url = served
    with (
        DeliveryClient(url, TOKEN, SECRET, retries=0) as tds,
        pytest.raises(MethodNotAllowedError, match="405 Method Not Allowed"),
    ):
        tds._run(Call("PUT", "/api/v1/source", done, json={}))


def test_a_503_with_retry_after_is_retried_then_succeeds(
    served: tuple[DeliveryEmulator, str],
) -> None:
    emulator, url = served
    emulator.fail_next(503)
    with DeliveryClient(url, TOKEN, SECRET, retries=1) as tds:
        assert isinstance(tds.get_source_address_list(), tuple)
    assert emulator.faults == []


def test_a_validation_refusal_carries_the_services_messages(
    served: tuple[DeliveryEmulator, str],
) -> None:
    _, url = served
    with DeliveryClient(url, TOKEN, SECRET, retries=0) as tds:
        source = tds.new_source_address()
        with pytest.raises(UnprocessableEntityError) as refused:
            tds.new_delivery(source.id, "user:bob", "SOUP", 1, hold_promise=True)
    assert refused.value.status == 422
    assert "not allowed for deliveries to usernames" in str(refused.value)
    assert refused.value.field is None  # Tokenly's 422 names no field apart from its words


def test_a_wrong_secret_is_forbidden(served: tuple[DeliveryEmulator, str]) -> None:
    _, url = served
    with (
        DeliveryClient(url, TOKEN, "not-the-secret", retries=0) as tds,
        pytest.raises(ForbiddenError) as refused,
    ):
        tds.get_source_address_list()
    assert isinstance(refused.value, AuthenticationError)
    assert isinstance(refused.value, PermissionDeniedError)
    assert refused.value.status == 403
    assert refused.value.message == "the signature does not match the request"
    assert "not-the-secret" not in str(refused.value)
    assert "not-the-secret" not in repr(refused.value)


#: Answers as Tokenly's servers wrote them, and the older forms the client still reads:
#: (status, body) -> (class, message, field, code).
ANSWERS = {
    "laravel 403 (a refused signature)": (
        (403, {"message": "Invalid Authorization Signature",
               "errors": ["Invalid Authorization Signature"]}),
        (ForbiddenError, "Invalid Authorization Signature", None, None),
    ),
    "laravel 422 (errors a flat list)": (
        (422, {"message": "The quantity field is required. The token field is required.",
               "errors": ["The quantity field is required.", "The token field is required."]}),
        (UnprocessableEntityError,
         "The quantity field is required. The token field is required.", None, None),
    ),
    "older 401 (a verifier's reason)": (
        (401, {"error": "bad-signature", "message": "the signature does not match"}),
        (AuthenticationError, "the signature does not match", None, "bad-signature"),
    ),
    "older 422 (naming its field)": (
        (422, {"message": "Not enough inventory.", "field": "quantity",
               "errors": {"quantity": ["Not enough inventory."]}}),
        (UnprocessableEntityError, "Not enough inventory.", "quantity", None),
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def canned() -> Iterator[str]:
    """A server answering ``/answer/{name}`` with that entry of ``ANSWERS``."""

    async def answer(request: Request) -> Response:
        (status, body), _ = ANSWERS[request.path_params["name"]]
        return JSONResponse(body, status)

    with serve(Starlette(routes=[Route("/api/v1/delivery/{name}", answer)])) as url:
        yield url


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_each_answer_form_maps_to_its_class_and_words(canned: str, name: str) -> None:
    _, (expected, message, field, code) = ANSWERS[name]
    with DeliveryClient(canned, TOKEN, SECRET, retries=0) as tds, pytest.raises(expected) as raised:
        tds.get_delivery(name)
    assert type(raised.value) is expected
    assert (raised.value.message, raised.value.field, raised.value.code) == (message, field, code)
