"""Each error code of the Token Delivery document becomes its own error, from a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from servers import serve

from tca_gate._service import Call
from tca_gate._service_errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ServiceError,
)
from tca_gate.delivery import (
    AsyncDeliveryClient,
    DeliveryClient,
    MaintenanceError,
    MethodNotAllowedError,
    UnprocessableEntityError,
)
from tca_gate.delivery._read import done
from tca_gate.delivery.testing import DeliveryEmulator

TOKEN, SECRET = "Terrors", "Kerrors"

#: The document's codes and the error each raises (the most specific class).
CODES = {
    400: InvalidRequestError,
    403: PermissionDeniedError,
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


def test_a_validation_refusal_names_the_field(served: tuple[DeliveryEmulator, str]) -> None:
    _, url = served
    with DeliveryClient(url, TOKEN, SECRET, retries=0) as tds:
        source = tds.new_source_address()
        with pytest.raises(UnprocessableEntityError) as refused:
            tds.new_delivery(source.id, "user:bob", "SOUP", 1, hold_promise=True)
    assert refused.value.field == "destination"
    assert "Not allowed for deliveries to usernames" in str(refused.value)


def test_a_wrong_secret_is_an_authentication_error(served: tuple[DeliveryEmulator, str]) -> None:
    _, url = served
    with (
        DeliveryClient(url, TOKEN, "not-the-secret", retries=0) as tds,
        pytest.raises(AuthenticationError) as refused,
    ):
        tds.get_source_address_list()
    assert refused.value.code == "bad-signature"
    assert "not-the-secret" not in str(refused.value)
