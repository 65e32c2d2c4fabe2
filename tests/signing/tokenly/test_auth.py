"""``TokenlyAuth`` signs what ``TokenlyAuthMiddleware`` accepts, over a real loopback server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tca_gate import (
    InvalidArgumentError,
    MemoryReplayStore,
    TokenlyAuthMiddleware,
    TokenlySignatureError,
    verify_tokenly_request,
)
from tca_gate.signing.tokenly._scheme import NONCE_HEADER, SIGNATURE_HEADER, params_json
from tca_gate.signing.tokenly.auth import TokenlyAuth
from tests.support.clocks import ManualClock
from tests.support.servers import serve

TOKEN, SECRET = "TWKTkwIQDTvirh6D", "Kun2M2UladalYAeUvXyiKWhFuwrsmSreM841K45O"


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse(
        {"method": request.method, "query": str(request.url.query), "body": body.decode()}
    )


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = Starlette(
        routes=[Route("/api/v1/echo/{test}", echo, methods=["GET", "POST", "PATCH", "DELETE"])]
    )
    guarded = TokenlyAuthMiddleware(
        app, secret_for={TOKEN: SECRET}, replay_store=MemoryReplayStore()
    )
    with serve(guarded) as base_url:
        yield base_url


def test_every_method_is_accepted_by_the_middleware(server: str) -> None:
    url = f"{server}/api/v1/echo/methods"
    body = params_json({"label": "a/b", "name": "café", "n": 5})
    with httpx2.Client(auth=TokenlyAuth(TOKEN, SECRET)) as client:
        get = client.get(url, params={"LTBCOIN": "1", "oauth_token": "t"})
        post = client.post(url, content=body, headers={"Content-Type": "application/json"})
        patch = client.patch(url, content=body, headers={"Content-Type": "application/json"})
        form = client.post(url, data={"code": "x y", "empty": ""})
        delete = client.delete(url, params={"oauth_token": "t"})
        empty = client.post(url)
    for response in (get, post, patch, form, delete, empty):
        assert response.status_code == 200, response.text
    assert post.json()["body"] == body
    assert get.json()["query"] == "LTBCOIN=1&oauth_token=t"


def test_a_wrong_secret_is_refused(server: str) -> None:
    with httpx2.Client(auth=TokenlyAuth(TOKEN, "not the secret")) as client:
        response = client.get(f"{server}/api/v1/echo/wrong-secret")
    assert (response.status_code, response.json()["error"]) == (401, "bad-signature")


def test_resending_a_request_in_the_same_second_is_not_a_replay(server: str) -> None:
    auth = TokenlyAuth(TOKEN, SECRET, clock=ManualClock(time.time()))  # the clock stands still
    with httpx2.Client(auth=auth) as client:
        request = client.build_request("DELETE", f"{server}/api/v1/echo/resend")
        first = client.send(request)
        nonce = int(request.headers[NONCE_HEADER])
        again = client.send(request)
    assert (first.status_code, again.status_code) == (200, 200)
    assert int(request.headers[NONCE_HEADER]) > nonce


def test_the_same_signed_headers_twice_are_refused_as_a_replay(server: str) -> None:
    url = f"{server}/api/v1/echo/replay"
    with httpx2.Client(auth=TokenlyAuth(TOKEN, SECRET)) as client:
        request = client.build_request("GET", url)
        assert client.send(request).status_code == 200
    replay = httpx2.get(url, headers=dict(request.headers))
    assert (replay.status_code, replay.json()["error"]) == (401, "replayed-request")


def signed(auth: TokenlyAuth, request: httpx2.Request) -> httpx2.Request:
    flow = auth.sync_auth_flow(request)
    return next(flow)


def test_each_attempt_takes_the_clock_afresh() -> None:
    clock = ManualClock(1_700_000_000.4)
    auth = TokenlyAuth(TOKEN, SECRET, clock=clock)
    url = "https://tokenpass.example/api/v1/tca/check/alice"
    first = signed(auth, httpx2.Request("GET", url))
    assert first.headers[NONCE_HEADER] == "1700000000"
    clock.now = 1_700_000_007.9
    later = signed(auth, httpx2.Request("GET", url))
    assert later.headers[NONCE_HEADER] == "1700000007"
    assert later.headers[SIGNATURE_HEADER] != first.headers[SIGNATURE_HEADER]


def test_a_resent_request_moves_to_the_next_second_when_the_clock_has_not() -> None:
    auth = TokenlyAuth(TOKEN, SECRET, clock=ManualClock(1_700_000_000.0))
    request = httpx2.Request("GET", "https://tokenpass.example/api/v1/tca/addresses")
    nonces, signatures = [], []
    for _ in range(3):
        signed(auth, request)
        nonces.append(request.headers[NONCE_HEADER])
        signatures.append(request.headers[SIGNATURE_HEADER])
    assert nonces == ["1700000000", "1700000001", "1700000002"]
    assert len(set(signatures)) == 3


@pytest.mark.parametrize(
    ("method", "content", "params"),
    [
        ("GET", b"", None),
        ("DELETE", b"", {"oauth_token": "t"}),
        ("POST", params_json({"a": "b/c", "n": [1, 2]}).encode(), {"a": "b/c", "n": [1, 2]}),
        ("PATCH", params_json({"label": "x"}).encode(), {"label": "x"}),
        ("POST", b"", None),
    ],
)
def test_signatures_verify_with_the_params_the_verifier_reads(
    method: str, content: bytes, params: dict[str, object] | None
) -> None:
    url = "http://127.0.0.1:8123/api/v1/tca/address?oauth_token=t"
    request = httpx2.Request(method, url, content=content)
    signed(TokenlyAuth(TOKEN, SECRET, clock=ManualClock(1_700_000_000)), request)
    verified = verify_tokenly_request(
        method,
        url,
        dict(request.headers),
        secret_for={TOKEN: SECRET},
        params=params,
        now=1_700_000_000,
    )
    assert verified.nonce == 1_700_000_000


def test_a_delete_signs_its_query_so_another_token_breaks_the_signature() -> None:
    url = "http://127.0.0.1:8123/api/v1/tca/address/1Boat?oauth_token=caf%C3%A9&x="
    request = signed(
        TokenlyAuth(TOKEN, SECRET, clock=ManualClock(1_700_000_000)), httpx2.Request("DELETE", url)
    )
    headers = dict(request.headers)

    def verify(params: Mapping[str, object] | None) -> None:
        verify_tokenly_request(
            "DELETE", url, headers, secret_for={TOKEN: SECRET}, params=params, now=1_700_000_000
        )

    verify({"oauth_token": "café", "x": ""})
    for other in ({"oauth_token": "someone-else", "x": ""}, None):
        with pytest.raises(TokenlySignatureError):
            verify(other)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (json.dumps({"a": 1}).encode(), "compact JSON"),
        (b"[1,2]", "of an object"),
        (b"[" * 50_000, "of an object"),
        (b'{"a":"\xff"}', "not UTF-8"),
    ],
    ids=["spaced", "list", "nested-too-deep", "not-utf8"],
)
def test_a_body_that_is_not_compact_json_is_refused_rather_than_missigned(
    content: bytes, message: str
) -> None:
    request = httpx2.Request("POST", "https://x.example/api", content=content)
    with pytest.raises(InvalidArgumentError, match=message):
        signed(TokenlyAuth(TOKEN, SECRET), request)


def test_credentials_are_required_and_the_secret_is_not_shown() -> None:
    with pytest.raises(InvalidArgumentError, match="non-empty"):
        TokenlyAuth(TOKEN, "")
    assert SECRET not in repr(TokenlyAuth(TOKEN, SECRET))
