"""TDX-style HMAC over loopback: the clients against the emulator under uvicorn, checked by
``TDXAuthMiddleware``; tampered requests are refused with their reason."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tca_gate import AuthenticationError, InvalidArgumentError, InvalidRequestError
from tca_gate.tdx import (
    JSON,
    AsyncTDXClient,
    TDXAuth,
    TDXAuthMiddleware,
    TDXClient,
    sign_tdx_request,
)
from tca_gate.tdx.testing import emulator_app
from tests.support.servers import serve

API_KEY = "fcebf5ef5-69d3-4a37-b1d3-69fd462cf54c"
SECRET = "0c3c11e3e74de307866a2d67a9c71f97"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(emulator_app({API_KEY: SECRET}, tokens=frozenset({TOKEN}))) as url:
        yield url


def test_sync_client_places_and_lists_orders(base_url: str) -> None:
    with TDXClient(base_url, TDXAuth(API_KEY, SECRET)) as tdx:
        placed = tdx.post("/api/v1/orders", {"side": "sell", "quantity": "3"})
        listed = tdx.get("/api/v1/orders", {"limit": 100})
    assert isinstance(placed, dict)
    assert placed["side"] == "sell"
    assert placed["price"] == Decimal("0.25")
    assert isinstance(placed["price"], Decimal)
    assert isinstance(listed, list)
    assert placed in listed


def test_async_client_signs_each_call_with_its_own_nonce(base_url: str) -> None:
    async def main() -> list[JSON]:
        async with AsyncTDXClient(base_url, TDXAuth(API_KEY, SECRET)) as tdx:
            return list(await asyncio.gather(*(tdx.get("/api/v1/whoami") for _ in range(5))))

    answers = [answer for answer in asyncio.run(main()) if isinstance(answer, dict)]
    nonces = {str(answer["nonce"]) for answer in answers}
    assert len(nonces) == 5
    assert all(uuid.UUID(nonce).version == 4 for nonce in nonces)
    assert {answer["api_key"] for answer in answers} == {API_KEY}


def test_every_method_and_query_encoding_is_signed_as_sent(base_url: str) -> None:
    with TDXClient(base_url, TDXAuth(API_KEY, SECRET)) as tdx:
        for method in ("GET", "POST", "PUT", "DELETE"):
            answer = tdx.request(
                method, "/api/v1/whoami", [("q", "a b/ü"), ("q", "&=")], {"x": [1, None]}
            )
            assert isinstance(answer, dict)
            assert answer["scheme"] == "hmac"


def test_bearer_mode(base_url: str) -> None:
    with TDXClient(base_url, TDXAuth.bearer(TOKEN)) as tdx:
        assert tdx.get("/api/v1/whoami") == {"scheme": "bearer"}
    with (
        TDXClient(base_url, TDXAuth.bearer("not-the-token")) as tdx,
        pytest.raises(AuthenticationError) as refused,
    ):
        tdx.get("/api/v1/whoami")
    assert refused.value.code == "bad-token"


def test_wrong_secret_is_an_authentication_error_with_the_reason(base_url: str) -> None:
    with (
        TDXClient(base_url, TDXAuth(API_KEY, "00" * 16)) as tdx,
        pytest.raises(AuthenticationError) as refused,
    ):
        tdx.get("/api/v1/orders")
    assert (refused.value.status, refused.value.code) == (401, "bad-signature")


def test_service_errors_map_to_the_error_tree(base_url: str) -> None:
    with TDXClient(base_url, TDXAuth(API_KEY, SECRET)) as tdx:
        with pytest.raises(InvalidRequestError) as refused:
            tdx.post("/api/v1/orders", {"side": "hold"})
        assert (refused.value.status, refused.value.code) == (422, "invalid-order")
        with pytest.raises(InvalidArgumentError, match=r"json\.quantity is a float"):
            tdx.post("/api/v1/orders", {"side": "buy", "quantity": 1.5})


def test_a_retry_is_signed_afresh() -> None:
    seen: list[str] = []

    async def flaky(request: Request) -> JSONResponse:
        seen.append(request.state.tdx.nonce)
        if len(seen) == 1:
            return JSONResponse({"error": "busy"}, 503)
        return JSONResponse({"attempts": len(seen)})

    app = Starlette(
        routes=[Route("/flaky", flaky)],
        middleware=[Middleware(TDXAuthMiddleware, secret_for={API_KEY: SECRET})],
    )
    with serve(app) as url, TDXClient(url, TDXAuth(API_KEY, SECRET), retries=2) as tdx:
        assert tdx.get("/flaky") == {"attempts": 2}
    assert len(set(seen)) == 2


#: The request the tamper tests sign; each sends it with one part changed.
REQUEST: dict[str, str] = {
    "method": "POST",
    "target": "/api/v1/orders?limit=5",
    "body": '{"side":"buy"}',
    "content_type": "application/json",
}


def send(
    base_url: str,
    *,
    sent: dict[str, str] | None = None,
    header: str | None = None,
    host: str | None = None,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> httpx2.Response:
    """Sign ``REQUEST`` and send it with the parts in ``sent`` changed."""
    if header is None:
        header = sign_tdx_request(
            REQUEST["method"],
            base_url + REQUEST["target"],
            api_key=API_KEY,
            api_secret=SECRET,
            content_type=REQUEST["content_type"],
            body=REQUEST["body"].encode(),
            timestamp=timestamp,
            nonce=nonce,
        )
    actual = {**REQUEST, **(sent or {})}
    headers = {"Authorization": header, "Content-Type": actual["content_type"]}
    if host is not None:
        headers["Host"] = host
    return httpx2.request(
        actual["method"],
        base_url + actual["target"],
        content=actual["body"].encode(),
        headers=headers,
    )


def refusal(response: httpx2.Response) -> str:
    assert response.status_code == 401, response.text
    reason: str = response.json()["error"]
    return reason


def test_the_untampered_request_is_accepted_once(base_url: str) -> None:
    nonce = str(uuid.uuid4())
    assert send(base_url, nonce=nonce).status_code == 201
    assert refusal(send(base_url, nonce=nonce)) == "replayed-nonce"


@pytest.mark.parametrize(
    "sent",
    [
        {"method": "PUT"},
        {"target": "/api/v1/whoami?limit=5"},
        {"target": "/api/v1/orders?limit=6"},
        {"target": "/api/v1/orders?limit=%35"},
        {"target": "/api/v1/orders"},
        {"body": '{"side":"sell"}'},
        {"body": '{"side": "buy"}'},
        {"content_type": "application/json; charset=utf-8"},
    ],
)
def test_tampering_is_refused_as_a_bad_signature(base_url: str, sent: dict[str, str]) -> None:
    assert refusal(send(base_url, sent=sent)) == "bad-signature"


def test_another_host_is_refused(base_url: str) -> None:
    assert refusal(send(base_url, host="tdx.example.com")) == "bad-signature"


def test_timestamps_outside_the_window_are_refused(base_url: str) -> None:
    now = int(time.time() * 1000)
    assert refusal(send(base_url, timestamp=now - 151_000)) == "stale-timestamp"
    assert refusal(send(base_url, timestamp=now + 151_000)) == "future-timestamp"
    assert send(base_url, timestamp=now - 140_000).status_code == 201


#: A well-formed nonce for refusals that come before any nonce is claimed (a fixed one,
#: so that every test worker collects the same test ids).
FIXED_NONCE = "0b1e9c6e-3f4a-4c8e-9a51-2d7f0c6b8e11"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("", "missing-authorization"),
        ("Basic dXNlcjpwYXNz", "unsupported-scheme"),
        (f"TDXV1-HMAC-SHA256 ApiKey={API_KEY}", "malformed-authorization"),
        ("TDXV1-HMAC-SHA256 ApiKey=x Nonce=nope Timestamp=1 Signature=c2ln", "malformed-nonce"),
        (f"TDXV1-HMAC-SHA256 ApiKey=x Nonce={FIXED_NONCE} Timestamp=soon Signature=c2ln",
         "malformed-timestamp"),
        (f"TDXV1-HMAC-SHA256 ApiKey=x Nonce={FIXED_NONCE} Timestamp=1 Signature=c2ln",
         "unknown-api-key"),
    ],
)  # fmt: skip
def test_malformed_headers_are_refused_with_their_reason(
    base_url: str, header: str, reason: str
) -> None:
    assert refusal(send(base_url, header=header)) == reason


def test_two_authorization_headers_are_refused(base_url: str) -> None:
    header = sign_tdx_request(
        "GET", base_url + "/api/v1/whoami", api_key=API_KEY, api_secret=SECRET
    )
    response = httpx2.get(
        base_url + "/api/v1/whoami", headers=[("Authorization", header), ("Authorization", header)]
    )
    assert refusal(response) == "malformed-authorization"


def test_a_failing_nonce_store_refuses_with_503() -> None:
    class Broken:
        def claim(self, key: str, ttl: float) -> bool:
            raise ConnectionError("down")

    with serve(emulator_app({API_KEY: SECRET}, nonce_store=Broken())) as url:
        response = send(url)
    assert (response.status_code, response.json()["error"]) == (503, "nonce-store-unavailable")


def test_a_query_moved_into_the_content_type_is_refused(base_url: str) -> None:
    """Issue 11, defect 5: ``GET /orders?limit=1`` signed once verified again as
    ``GET /orders`` with ``Content-Type: limit=1``; the forgery is refused, and the
    nonce is not used up by it."""
    header = sign_tdx_request(
        "GET", base_url + "/api/v1/orders?limit=1", api_key=API_KEY, api_secret=SECRET
    )
    forged = httpx2.get(
        base_url + "/api/v1/orders", headers={"Authorization": header, "Content-Type": "limit=1"}
    )
    assert refusal(forged) == "ambiguous-request"
    assert "Content-Type" in forged.json()["message"]
    signed = httpx2.get(base_url + "/api/v1/orders?limit=1", headers={"Authorization": header})
    assert signed.status_code == 200


#: A signed request (method, target, content type, body), and a forgery the scheme's
#: joined text cannot tell from it: each part moved across a boundary into its neighbour.
SLIDES = [
    (  # the content type's start moved into the query, its body's start into the type
        ("POST", "/api/v1/whoami", "text/plain", "a/b hello"),
        ("POST", "/api/v1/whoami?text/plain", "a/b", "hello"),
    ),
    (  # a parameter moved from the content type into the body
        ("POST", "/api/v1/whoami", "text/plain; charset=utf-8", "hi"),
        ("POST", "/api/v1/whoami", "text/plain;", "charset=utf-8 hi"),
    ),
    (  # the content type moved into the body
        ("POST", "/api/v1/whoami", "text/plain", "hello"),
        ("POST", "/api/v1/whoami", "", "text/plain hello"),
    ),
    (  # the body's start moved into the content type
        ("POST", "/api/v1/whoami", "text/plain", "; charset=x hi"),
        ("POST", "/api/v1/whoami", "text/plain ; charset=x", "hi"),
    ),
    (  # the query moved into the content type
        ("DELETE", "/api/v1/whoami?id=7", "", ""),
        ("DELETE", "/api/v1/whoami", "id=7", ""),
    ),
]


def send_as(base_url: str, header: str, request: tuple[str, str, str, str]) -> httpx2.Response:
    method, target, content_type, body = request
    headers = {"Authorization": header}
    if content_type:
        headers["Content-Type"] = content_type
    return httpx2.request(method, base_url + target, headers=headers, content=body.encode())


@pytest.mark.parametrize(("signed", "forged"), SLIDES)
def test_a_part_slid_into_its_neighbour_is_refused(
    base_url: str, signed: tuple[str, str, str, str], forged: tuple[str, str, str, str]
) -> None:
    method, target, content_type, body = signed
    header = sign_tdx_request(
        method,
        base_url + target,
        api_key=API_KEY,
        api_secret=SECRET,
        content_type=content_type,
        body=body.encode(),
    )
    assert refusal(send_as(base_url, header, forged)) == "ambiguous-request"
    assert send_as(base_url, header, signed).status_code == 200


def test_a_repeated_content_type_is_refused(base_url: str) -> None:
    """The verifier and the app must read the same value: with two, the app could read
    one that was never signed."""
    body = b'{"side":"buy"}'
    header = sign_tdx_request(
        "POST",
        base_url + "/api/v1/orders",
        api_key=API_KEY,
        api_secret=SECRET,
        content_type="application/json",
        body=body,
    )
    headers = [
        ("Authorization", header),
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Content-Type", "application/json"),
    ]
    response = httpx2.post(base_url + "/api/v1/orders", headers=headers, content=body)
    assert refusal(response) == "ambiguous-request"
    assert "more than one Content-Type header" in response.json()["message"]


def test_a_repeated_host_is_refused(base_url: str) -> None:
    """httpx2 will not send two Host headers; a raw request does."""
    host = base_url.removeprefix("http://")
    header = sign_tdx_request(
        "GET", base_url + "/api/v1/whoami", api_key=API_KEY, api_secret=SECRET
    )
    address, port = host.rsplit(":", 1)
    with socket.create_connection((address, int(port)), timeout=10) as connection:
        connection.sendall(
            f"GET /api/v1/whoami HTTP/1.1\r\nHost: other.example\r\nHost: {host}\r\n"
            f"Authorization: {header}\r\nConnection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401 "), answer
    assert json.loads(body)["error"] == "ambiguous-request"
