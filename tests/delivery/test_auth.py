"""The emulator's ``TokenlyAuthMiddleware`` refuses a tampered request for the right reason:
method, path, query, body, nonce, timestamp, signature, token, replay (over loopback);
each refusal answered as Tokenly's servers did, 403 ``{"message", "errors": [message]}``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx2
import pytest

from tca_gate.delivery.testing import DeliveryEmulator
from tca_gate.signing.replay import MemoryReplayStore
from tca_gate.signing.tokenly.auth import TokenlyAuth
from tests.support.servers import serve

TOKEN, SECRET = "Tauth-user", "Kauth-secret"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    emulator = DeliveryEmulator({TOKEN: SECRET}, replay_store=MemoryReplayStore())
    with serve(emulator) as url:
        yield url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=base_url, timeout=10) as client:
        yield client


def signed(
    http: httpx2.Client,
    method: str,
    path: str,
    body: str | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> httpx2.Request:
    """A request signed as ``DeliveryClient`` signs it."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = http.build_request(method, path, content=body, headers=headers)
    return next(TokenlyAuth(TOKEN, SECRET, clock=clock).auth_flow(request))


def resent(
    http: httpx2.Client,
    request: httpx2.Request,
    *,
    method: str | None = None,
    url: str | None = None,
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    """``request`` sent again with some parts changed after it was signed."""
    changed = httpx2.Request(
        method or request.method,
        url or request.url,
        content=request.content if body is None else body.encode(),
        headers=_replaced(request.headers, headers or {}),
    )
    return http.send(changed)


def _replaced(sent: httpx2.Headers, changes: dict[str, str]) -> httpx2.Headers:
    """``sent`` without its length, each of ``changes`` replacing its header (any case)."""
    headers = httpx2.Headers({k: v for k, v in sent.items() if k.lower() != "content-length"})
    headers.update(changes)
    return headers


#: What the verifier says for each reason it refuses (a part of its message).
SAYS = {
    "bad-signature": "the signature does not match",
    "replayed-request": "already used",
    "stale-nonce": "s old",
    "future-nonce": "s ahead",
    "malformed-nonce": "is not a unix time",
    "unknown-token": "unknown API token",
    "missing-header": "header is missing",
}


def refusal(response: httpx2.Response) -> str:
    """The reason of a refusal, from its message; the answer must be laravel-api-provider's
    403 ``{"message": m, "errors": [m]}`` (no other key, no 401)."""
    assert response.status_code == 403, response.text
    body = response.json()
    assert set(body) == {"message", "errors"}
    assert body["errors"] == [body["message"]]
    (reason,) = [reason for reason, says in SAYS.items() if says in body["message"]]
    return reason


def test_an_untouched_signed_request_is_accepted_once(http: httpx2.Client) -> None:
    request = signed(http, "POST", "/api/v1/source", '{"label":"once"}')
    first = http.send(request)
    assert first.status_code == 200
    assert first.json()["label"] == "once"
    assert refusal(http.send(request)) == "replayed-request"


def test_a_changed_method_is_a_bad_signature(http: httpx2.Client) -> None:
    request = signed(http, "GET", "/api/v1/delivery/d1")
    assert refusal(resent(http, request, method="DELETE")) == "bad-signature"


def test_a_changed_path_is_a_bad_signature(http: httpx2.Client) -> None:
    request = signed(http, "GET", "/api/v1/source/mine")
    url = str(request.url).replace("/mine", "/theirs")
    assert refusal(resent(http, request, url=url)) == "bad-signature"


def test_a_changed_query_of_a_delete_is_a_bad_signature(http: httpx2.Client) -> None:
    request = signed(http, "DELETE", "/api/v1/source/s1?sweep_address=1Mine")
    url = str(request.url).replace("1Mine", "1Thief")
    assert refusal(resent(http, request, url=url)) == "bad-signature"


def test_a_get_query_is_not_covered_by_tokenly_hmac(http: httpx2.Client) -> None:
    """services.md: GET is signed over ``{}``, so its query is not protected (known limit)."""
    request = signed(http, "GET", "/api/v1/delivery?token=SOUP")
    url = str(request.url).replace("SOUP", "PIZZA")
    assert resent(http, request, url=url).status_code == 200


def test_a_changed_body_is_a_bad_signature(http: httpx2.Client) -> None:
    body = '{"source":"s1","destination":"1Bob","token":"SOUP","quantity":100}'
    request = signed(http, "POST", "/api/v1/delivery", body)
    tampered = body.replace("100", "100000000")
    assert refusal(resent(http, request, body=tampered)) == "bad-signature"


def test_a_changed_nonce_is_a_bad_signature(http: httpx2.Client) -> None:
    request = signed(http, "GET", "/api/v1/source")
    nonce = int(request.headers["X-Tokenly-Auth-Nonce"])
    answer = resent(http, request, headers={"X-Tokenly-Auth-Nonce": str(nonce + 1)})
    assert refusal(answer) == "bad-signature"


def test_an_old_or_future_timestamp_is_refused_as_such(http: httpx2.Client) -> None:
    stale = signed(http, "GET", "/api/v1/source", clock=lambda: time.time() - 3600)
    assert refusal(http.send(stale)) == "stale-nonce"
    future = signed(http, "GET", "/api/v1/source", clock=lambda: time.time() + 3600)
    assert refusal(http.send(future)) == "future-nonce"


def test_a_malformed_nonce_is_refused(http: httpx2.Client) -> None:
    request = signed(http, "GET", "/api/v1/source")
    answer = resent(http, request, headers={"X-Tokenly-Auth-Nonce": "soon"})
    assert refusal(answer) == "malformed-nonce"


def test_a_changed_signature_is_a_bad_signature(http: httpx2.Client) -> None:
    request = signed(http, "GET", "/api/v1/source")
    signature = request.headers["X-Tokenly-Auth-Signature"]
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    answer = resent(http, request, headers={"X-Tokenly-Auth-Signature": flipped})
    assert refusal(answer) == "bad-signature"


def test_an_unknown_token_or_a_missing_header_is_refused(http: httpx2.Client) -> None:
    request = signed(http, "GET", "/api/v1/source")
    answer = resent(http, request, headers={"X-Tokenly-Auth-Api-Token": "Tsomeone-else"})
    assert refusal(answer) == "unknown-token"
    assert refusal(http.get("/api/v1/source")) == "missing-header"
