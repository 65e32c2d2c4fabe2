"""Tokenly HMAC auth: the published check value, every refusal reason, and a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tca_gate import (
    MemoryReplayStore,
    TokenlyAuthMiddleware,
    TokenlySignatureError,
    check_tokenly_signature,
    sign_tokenly_request,
    verify_tokenly_request,
)
from tca_gate.signing.tokenly._scheme import params_json, tokenly_message
from tca_gate.wire.urls import signing_url
from tests.support.servers import serve

# services.md's published check value
TOKEN, SECRET, NONCE = "TWKTkwIQDTvirh6D", "Kun2M2UladalYAeUvXyiKWhFuwrsmSreM841K45O", 1457530047
CHECK_URL = "https://www.example.com/api/v1/mystuff"
CHECK_SIGNATURE = "hZ6SDgcZzo5AYrS9yopEQo068ax0NojG/CfXWG+RJEA="
SECRETS = {TOKEN: SECRET}


def test_published_check_value() -> None:
    headers = sign_tokenly_request("GET", CHECK_URL, None, TOKEN, SECRET, nonce=NONCE)
    assert headers == {
        "X-Tokenly-Auth-Api-Token": TOKEN,
        "X-Tokenly-Auth-Nonce": str(NONCE),
        "X-Tokenly-Auth-Signature": CHECK_SIGNATURE,
    }


@pytest.mark.parametrize(
    ("url", "signed"),
    [
        ("https://www.example.com/api/v1/mystuff?a=1&b=2", CHECK_URL),
        ("HTTPS://WWW.Example.COM:443/api/v1/mystuff", CHECK_URL),
        ("http://example.com:80/x", "http://example.com/x"),
        (
            "http://127.0.0.1:8123/api/v1/tca/check/alice",
            "http://127.0.0.1:8123/api/v1/tca/check/alice",
        ),
        ("https://example.com", "https://example.com/"),
        ("http://[::1]:8000/x", "http://[::1]:8000/x"),
    ],
)
def test_signing_url(url: str, signed: str) -> None:
    assert signing_url(url) == signed


def test_get_signs_empty_params_and_no_query_string() -> None:
    with_query = sign_tokenly_request(
        "GET", CHECK_URL + "?LTBCOIN=1", {"LTBCOIN": "1"}, TOKEN, SECRET, nonce=NONCE
    )
    assert with_query["X-Tokenly-Auth-Signature"] == CHECK_SIGNATURE


def test_params_are_compact_json_with_slashes_as_they_are() -> None:
    assert params_json(None) == "{}"
    assert params_json({}) == "{}"
    assert params_json({"a": "b/c", "n": 5}) == '{"a":"b/c","n":5}'
    assert params_json({"name": "café"}) == '{"name":"caf\\u00e9"}'  # as PHP's json_encode
    message = tokenly_message("post", "https://x.test/api?q=1", {"a": 1}, TOKEN, 7)
    assert message == f'POST\nhttps://x.test/api\n{{"a":1}}\n{TOKEN}\n7'


def signed_headers(
    method: str = "POST", params: Mapping[str, object] | None = None, nonce: int = NONCE
) -> dict[str, str]:
    return sign_tokenly_request(method, CHECK_URL, params, TOKEN, SECRET, nonce=nonce)


def test_a_good_request_is_accepted() -> None:
    params = {"label": "Game Fountain", "webhook": "http://myapp.com/hook"}
    signed = verify_tokenly_request(
        "POST",
        CHECK_URL,
        signed_headers(params=params),
        secret_for=SECRETS,
        params=params,
        now=NONCE,
    )
    assert (signed.api_token, signed.nonce) == (TOKEN, NONCE)


def test_the_body_as_sent_is_accepted_too() -> None:
    """The service's own curl examples sign the body text exactly as sent, spaces and all."""
    body = b'{"type": "2:2", "label": "Game Fountain"}'
    message = f"POST\n{CHECK_URL}\n{body.decode()}\n{TOKEN}\n{NONCE}"
    from tca_gate.signing.tokenly._scheme import tokenly_signature

    headers = signed_headers() | {"X-Tokenly-Auth-Signature": tokenly_signature(message, SECRET)}
    params = json.loads(body)
    verify_tokenly_request(
        "POST", CHECK_URL, headers, secret_for=SECRETS, params=params, body=body, now=NONCE
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"X-Tokenly-Auth-Api-Token": ""}, "missing-header"),
        ({"X-Tokenly-Auth-Signature": " "}, "missing-header"),
        ({"X-Tokenly-Auth-Nonce": "soon"}, "malformed-nonce"),
        ({"X-Tokenly-Auth-Nonce": "-5"}, "malformed-nonce"),
        ({"X-Tokenly-Auth-Api-Token": "Tsomeoneelse"}, "unknown-token"),
        ({"X-Tokenly-Auth-Nonce": str(NONCE - 301)}, "stale-nonce"),
        ({"X-Tokenly-Auth-Nonce": str(NONCE + 301)}, "future-nonce"),
        ({"X-Tokenly-Auth-Nonce": str(NONCE + 1)}, "bad-signature"),
        ({"X-Tokenly-Auth-Signature": CHECK_SIGNATURE}, "bad-signature"),
    ],
)
def test_every_refusal_names_its_reason(change: dict[str, str], reason: str) -> None:
    headers = signed_headers(params={"a": 1}) | change
    with pytest.raises(TokenlySignatureError) as caught:
        verify_tokenly_request(
            "POST", CHECK_URL, headers, secret_for=SECRETS, params={"a": 1}, now=NONCE
        )
    assert caught.value.reason == reason
    expected = signed_headers(params={"a": 1})["X-Tokenly-Auth-Signature"]
    assert expected not in str(caught.value)  # never leaks what would have been right


@pytest.mark.parametrize(
    ("method", "url", "params"),
    [
        ("PUT", CHECK_URL, {"a": 1}),  # another method
        ("POST", CHECK_URL.replace("mystuff", "yourstuff"), {"a": 1}),  # another path
        ("POST", CHECK_URL, {"a": 2}),  # another body
        ("POST", "https://evil.example.com/api/v1/mystuff", {"a": 1}),  # another host
    ],
)
def test_tampering_is_a_bad_signature(method: str, url: str, params: dict[str, object]) -> None:
    with pytest.raises(TokenlySignatureError, match="does not match") as caught:
        verify_tokenly_request(
            method,
            url,
            signed_headers(params={"a": 1}),
            secret_for=SECRETS,
            params=params,
            now=NONCE,
        )
    assert caught.value.reason == "bad-signature"


def test_the_window_is_configurable() -> None:
    headers = signed_headers(params={"a": 1})
    check_tokenly_signature(
        "POST", CHECK_URL, headers, secret_for=SECRETS, params={"a": 1}, now=NONCE + 300
    )
    with pytest.raises(TokenlySignatureError, match="more than 30 s old"):
        check_tokenly_signature(
            "POST",
            CHECK_URL,
            headers,
            secret_for=SECRETS,
            params={"a": 1},
            now=NONCE + 31,
            window=30,
        )


def test_secrets_can_come_from_a_function() -> None:
    calls: list[str] = []

    def lookup(token: str) -> str | None:
        calls.append(token)
        return SECRET if token == TOKEN else None

    verify_tokenly_request("GET", CHECK_URL, signed_headers("GET"), secret_for=lookup, now=NONCE)
    assert calls == [TOKEN]


def test_a_replayed_request_is_refused_but_others_in_the_same_second_are_not() -> None:
    store = MemoryReplayStore()
    first = signed_headers(params={"a": 1})
    verify_tokenly_request(
        "POST", CHECK_URL, first, secret_for=SECRETS, params={"a": 1}, now=NONCE, replay_store=store
    )
    with pytest.raises(TokenlySignatureError) as caught:
        verify_tokenly_request(
            "POST",
            CHECK_URL,
            first,
            secret_for=SECRETS,
            params={"a": 1},
            now=NONCE,
            replay_store=store,
        )
    assert caught.value.reason == "replayed-request"
    other = signed_headers(params={"a": 2})
    verify_tokenly_request(
        "POST", CHECK_URL, other, secret_for=SECRETS, params={"a": 2}, now=NONCE, replay_store=store
    )


# ---------------------------------------------------------------- a real server


async def open_page(request: Request) -> JSONResponse:
    return JSONResponse({"open": True, "tokenly": hasattr(request.state, "tokenly")})


async def whoami(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"api_token": request.state.tokenly.api_token, "body": body.decode()})


async def echo_path(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.scope["raw_path"].decode()})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/api/v1/whoami", whoami, methods=["GET", "POST", "DELETE"]),
            Route("/open", open_page),
            Route("/api/v1/echo/{segment:path}", echo_path),
        ]
    )
    store = MemoryReplayStore()
    protected = TokenlyAuthMiddleware(
        app, secret_for=SECRETS, replay_store=store, protect=lambda path: path.startswith("/api/")
    )
    with serve(protected) as base_url:
        yield base_url


def test_signed_requests_reach_the_app_with_their_body(server: str) -> None:
    url = f"{server}/api/v1/whoami"
    payload = {"label": "x/y", "n": 5}
    body = json.dumps(payload, separators=(",", ":"))
    headers = sign_tokenly_request("POST", url, payload, TOKEN, SECRET) | {
        "Content-Type": "application/json"
    }
    response = httpx2.post(url, content=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"api_token": TOKEN, "body": body}
    form = {"label": "a b", "x": ""}
    headers = sign_tokenly_request("POST", url, form, TOKEN, SECRET)
    assert httpx2.post(url, data=form, headers=headers).status_code == 200
    get = httpx2.get(
        url + "?LTBCOIN=1", headers=sign_tokenly_request("GET", url, None, TOKEN, SECRET)
    )
    assert get.status_code == 200


def test_refusals_are_401_with_the_reason(server: str) -> None:
    url = f"{server}/api/v1/whoami"
    response = httpx2.get(url)
    assert response.status_code == 401
    assert response.json()["error"] == "missing-header"
    headers = sign_tokenly_request("POST", url, {"a": 1}, TOKEN, SECRET)
    tampered = httpx2.post(url, json={"a": 2}, headers=headers)
    assert (tampered.status_code, tampered.json()["error"]) == (401, "bad-signature")


def test_a_replay_over_the_wire_is_refused(server: str) -> None:
    url = f"{server}/api/v1/whoami"
    headers = sign_tokenly_request("DELETE", url, None, TOKEN, SECRET)
    assert httpx2.delete(url, headers=headers).status_code == 200
    again = httpx2.delete(url, headers=headers)
    assert (again.status_code, again.json()["error"]) == (401, "replayed-request")


def test_unprotected_paths_pass_through(server: str) -> None:
    response = httpx2.get(f"{server}/open")
    assert response.json() == {"open": True, "tokenly": False}


def test_an_oversized_body_is_refused_before_checking(server: str) -> None:
    response = httpx2.post(f"{server}/api/v1/whoami", content=b"x" * (2 << 20))
    assert (response.status_code, response.json()["error"]) == (413, "body-too-large")


def test_a_delete_signs_its_query_parameters(server: str) -> None:
    url = f"{server}/api/v1/whoami"
    params = {"oauth_token": "tok/1", "note": "a b"}
    headers = sign_tokenly_request("DELETE", url, params, TOKEN, SECRET)
    assert httpx2.delete(url, params=params, headers=headers).status_code == 200
    other = sign_tokenly_request("DELETE", url, params, TOKEN, SECRET)
    swapped = httpx2.delete(url, params={**params, "oauth_token": "tok/2"}, headers=other)
    assert (swapped.status_code, swapped.json()["error"]) == (401, "bad-signature")
    unsigned = sign_tokenly_request("DELETE", url, None, TOKEN, SECRET)
    assert httpx2.delete(url, params=params, headers=unsigned).status_code == 401


@pytest.mark.parametrize("segment", ["my acct", "é", "a%2Fb", "50%"])
def test_a_path_with_escapes_is_checked_as_sent(server: str, segment: str) -> None:
    """The client signs the percent-encoded path it sends; the server must not decode it first."""
    request = httpx2.Request("GET", f"{server}/api/v1/echo/{segment}")
    headers = sign_tokenly_request("GET", str(request.url), None, TOKEN, SECRET)
    response = httpx2.get(request.url, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["path"] == request.url.raw_path.decode()
