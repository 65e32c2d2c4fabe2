"""Requests signed the way Tokenly's official signers sign them verify everywhere we verify.

The official PHP signer (tokenly/hmac-auth ``Generator``, used by tokenpass-client and
delivery-client) signs a GET over its query as ``parse_str`` reads it, and any
parameters with ``json_encode(..., JSON_UNESCAPED_SLASHES | JSON_FORCE_OBJECT)``: lists
become objects keyed "0", "1", ... and ``[]`` becomes ``{}``. Every expected PARAMS text
below is written out by hand from those rules, and every signature is computed here
with ``hmac``/``hashlib`` directly: nothing comes from our own signer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from tca_gate import TokenlySignatureError, verify_tokenly_request
from tca_gate.signing.tokenly._middleware import TokenlyAuthMiddleware
from tests.support.sandboxes import TEST_SEED, Sandbox, running_sandbox
from tests.support.servers import serve

TOKEN = "TWKTkwIQDTvirh6D"
SECRET = "Kun2M2UladalYAeUvXyiKWhFuwrsmSreM841K45O"
BASE = "https://www.example.com"


def official_headers(
    method: str, url: str, params_text: str, token: str, secret: str
) -> dict[str, str]:
    """The three headers as the official signer makes them, over ``params_text`` as given."""
    nonce = str(int(time.time()))
    message = f"{method}\n{url}\n{params_text}\n{token}\n{nonce}"
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return {
        "X-TOKENLY-AUTH-API-TOKEN": token,
        "X-TOKENLY-AUTH-NONCE": nonce,
        "X-TOKENLY-AUTH-SIGNATURE": base64.b64encode(digest).decode(),
    }


# A GET's query as PHP's parse_str reads it, written as json_encode writes it.
GET_VECTORS = [
    pytest.param("a=1&b=two", '{"a":"1","b":"two"}', id="plain"),
    pytest.param("ref=a%2Fb&q=%E2%82%AC", '{"ref":"a/b","q":"\\u20ac"}', id="percent-escapes"),
    pytest.param("name=John+Doe&x=a%2Bb", '{"name":"John Doe","x":"a+b"}', id="plus"),
    pytest.param("a=1&a=2&b=3", '{"a":"2","b":"3"}', id="repeated-key"),
    pytest.param("ids[]=1&ids[]=2&ids[]=3", '{"ids":{"0":"1","1":"2","2":"3"}}', id="list"),
    pytest.param("m[x][]=1&m[y]=2", '{"m":{"x":{"0":"1"},"y":"2"}}', id="nested"),
    pytest.param("q=caf%C3%A9+%F0%9F%8E%89", '{"q":"caf\\u00e9 \\ud83c\\udf89"}', id="unicode"),
    pytest.param(
        "TOKENLY=1&LTBCOIN=1000&stackop_1=OR",
        '{"TOKENLY":"1","LTBCOIN":"1000","stackop_1":"OR"}',
        id="tca-rule",
    ),
    pytest.param("empty=&flag", '{"empty":"","flag":""}', id="blank-values"),
]

# A JSON body, and what the official signer signed for it.
BODY_VECTORS = [
    pytest.param(
        '{"accounts":[{"account":"acct-1","amount":500,"ref":"ref\\/1"}]}',
        '{"accounts":{"0":{"account":"acct-1","amount":500,"ref":"ref/1"}}}',
        id="official-example",
    ),
    pytest.param(
        '{"a":[[1,2],[]],"b":{"c":["x"]}}',
        '{"a":{"0":{"0":1,"1":2},"1":{}},"b":{"c":{"0":"x"}}}',
        id="nested-lists",
    ),
    pytest.param('{"tags":[],"name":"n"}', '{"tags":{},"name":"n"}', id="empty-list"),
    pytest.param(
        '{"name":"Zo\\u00eb","note":"caf\u00e9"}',
        '{"name":"Zo\\u00eb","note":"caf\\u00e9"}',
        id="unicode",
    ),
    pytest.param("[1,2]", '{"0":1,"1":2}', id="top-level-list"),
]

# A form post, and what the official signer signed for it.
FORM_VECTORS = [
    pytest.param("a=1&b=x%2Fy", '{"a":"1","b":"x/y"}', id="plain"),
    pytest.param("list[]=x&list[]=y&a=1", '{"list":{"0":"x","1":"y"},"a":"1"}', id="list"),
    pytest.param("m[k][]=1&m[k][]=2", '{"m":{"k":{"0":"1","1":"2"}}}', id="nested-list"),
]


def verify(method: str, url: str, headers: dict[str, str], **kwargs: Any) -> None:
    verify_tokenly_request(method, url, headers, secret_for={TOKEN: SECRET}, **kwargs)


@pytest.mark.parametrize(("query", "signed"), GET_VECTORS)
def test_a_get_signed_over_its_query_verifies(query: str, signed: str) -> None:
    url = f"{BASE}/api/v1/thing"
    headers = official_headers("GET", url, signed, TOKEN, SECRET)
    verify("GET", url, headers, query=query)
    verify("GET", url, headers, query=query.encode())


@pytest.mark.parametrize(("query", "signed"), GET_VECTORS)
def test_a_get_signed_over_its_query_fails_once_the_query_changes(query: str, signed: str) -> None:
    url = f"{BASE}/api/v1/thing"
    headers = official_headers("GET", url, signed, TOKEN, SECRET)
    for tampered in (query + "&extra=1", query + "x", ""):
        with pytest.raises(TokenlySignatureError) as caught:
            verify("GET", url, headers, query=tampered)
        assert caught.value.reason == "bad-signature"
    with pytest.raises(TokenlySignatureError):
        verify("GET", f"{BASE}/api/v1/other", headers, query=query)


def test_a_get_signed_over_an_empty_object_still_verifies_whatever_its_query() -> None:
    url = f"{BASE}/api/v1/thing"
    headers = official_headers("GET", url, "{}", TOKEN, SECRET)
    verify("GET", url, headers, query="a=1")
    verify("GET", url, headers)


@pytest.mark.parametrize(("body", "signed"), BODY_VECTORS)
def test_a_json_body_signed_with_force_object_verifies(body: str, signed: str) -> None:
    url = f"{BASE}/api/v1/credits/g/accounts/credit"
    headers = official_headers("POST", url, signed, TOKEN, SECRET)
    headers["Content-Type"] = "application/json"
    verify("POST", url, headers, body=body.encode())
    document = json.loads(body)
    if isinstance(document, dict):  # as a caller that parsed the body passes it
        verify("POST", url, headers, body=body.encode(), params=document)


@pytest.mark.parametrize(("body", "signed"), BODY_VECTORS)
def test_a_force_object_signature_fails_once_the_body_changes(body: str, signed: str) -> None:
    url = f"{BASE}/api/v1/credits/g/accounts/credit"
    headers = official_headers("POST", url, signed, TOKEN, SECRET)
    tampered = body.replace("1", "7", 1) if "1" in body else body.replace("n", "m", 1)
    assert tampered != body
    with pytest.raises(TokenlySignatureError) as caught:
        verify("POST", url, headers, body=tampered.encode())
    assert caught.value.reason == "bad-signature"


@pytest.mark.parametrize(("body", "signed"), FORM_VECTORS)
def test_a_form_post_signed_as_php_reads_it_verifies(body: str, signed: str) -> None:
    url = f"{BASE}/api/v1/form"
    headers = official_headers("POST", url, signed, TOKEN, SECRET)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    verify("POST", url, headers, body=body.encode())
    with pytest.raises(TokenlySignatureError):
        verify("POST", url, headers, body=(body + "&z=1").encode())


def test_a_delete_signed_over_its_query_as_php_reads_it_verifies_and_never_over_nothing() -> None:
    url = f"{BASE}/api/v1/tca/address/1abc"
    php = official_headers("DELETE", url, '{"ids":{"0":"1"},"oauth_token":"t"}', TOKEN, SECRET)
    verify("DELETE", url, php, query="ids[]=1&oauth_token=t")
    bare = official_headers("DELETE", url, "{}", TOKEN, SECRET)
    with pytest.raises(TokenlySignatureError):  # a query is covered: {} does not sign it
        verify("DELETE", url, bare, query="oauth_token=t")


@pytest.mark.parametrize("value", [1457530047, None, b"1457530047", 1.5])
def test_a_header_value_that_is_not_text_is_a_signature_error(value: object) -> None:
    headers: dict[str, Any] = official_headers("GET", f"{BASE}/x", "{}", TOKEN, SECRET)
    headers["X-TOKENLY-AUTH-NONCE"] = value
    with pytest.raises(TokenlySignatureError) as caught:
        verify("GET", f"{BASE}/x", headers)
    assert caught.value.reason == "malformed-header"
    assert type(value).__name__ in str(caught.value)


def test_a_body_that_is_not_utf8_is_refused_rather_than_decoded_loosely() -> None:
    url = f"{BASE}/api/v1/x"
    # Decoded with replacement characters, both bodies would read "\ufffd".
    as_replaced = "\ufffd"
    headers = official_headers("POST", url, as_replaced, TOKEN, SECRET)
    for body in (b"\xff", b"\xfe"):
        with pytest.raises(TokenlySignatureError) as caught:
            verify("POST", url, headers, body=body)
        assert caught.value.reason == "malformed-body"


# ----------------------------------------------------------- over loopback


async def _echo(request: Request) -> JSONResponse:
    body = await request.body()
    signed = getattr(request.state, "tokenly", None)
    token = None if signed is None else signed.api_token
    return JSONResponse({"path": request.url.path, "body": body.decode(), "token": token})


def _guarded_app() -> TokenlyAuthMiddleware:
    inner = Starlette(routes=[Route("/{rest:path}", _echo, methods=["GET", "POST", "DELETE"])])
    return TokenlyAuthMiddleware(inner, secret_for={TOKEN: SECRET})


@pytest.fixture(scope="module")
def middleware_url() -> Iterator[str]:
    with serve(_guarded_app()) as url:
        yield url


@pytest.mark.parametrize(("query", "signed"), GET_VECTORS)
def test_the_middleware_accepts_an_official_get_over_loopback(
    middleware_url: str, query: str, signed: str
) -> None:
    url = f"{middleware_url}/api/v1/thing"
    headers = official_headers("GET", url, signed, TOKEN, SECRET)
    answer = httpx2.get(f"{url}?{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    tampered = httpx2.get(f"{url}?{query}&more=1", headers=headers)
    assert (tampered.status_code, tampered.json()["error"]) == (401, "bad-signature")


@pytest.mark.parametrize(("body", "signed"), BODY_VECTORS)
def test_the_middleware_accepts_an_official_json_post_over_loopback(
    middleware_url: str, body: str, signed: str
) -> None:
    url = f"{middleware_url}/api/v1/thing"
    headers = official_headers("POST", url, signed, TOKEN, SECRET) | {
        "Content-Type": "application/json"
    }
    answer = httpx2.post(url, content=body.encode(), headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["body"] == body  # the app reads the body the middleware read


@pytest.mark.parametrize(("body", "signed"), FORM_VECTORS)
def test_the_middleware_accepts_an_official_form_post_over_loopback(
    middleware_url: str, body: str, signed: str
) -> None:
    url = f"{middleware_url}/api/v1/form"
    headers = official_headers("POST", url, signed, TOKEN, SECRET)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    answer = httpx2.post(url, content=body.encode(), headers=headers)
    assert answer.status_code == 200, answer.text


def test_an_unsigned_deeply_nested_body_is_refused_not_a_server_error(middleware_url: str) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    unsigned = httpx2.post(
        f"{middleware_url}/x", content=deep, headers={"Content-Type": "application/json"}
    )
    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "missing-header")
    url = f"{middleware_url}/x"
    signed = official_headers("POST", url, "{}", TOKEN, "wrong-secret") | {
        "Content-Type": "application/json"
    }
    answer = httpx2.post(url, content=deep, headers=signed)
    assert (answer.status_code, answer.json()["error"]) == (401, "malformed-body")


def test_the_middleware_refuses_a_body_that_is_not_utf8(middleware_url: str) -> None:
    url = f"{middleware_url}/x"
    headers = official_headers("POST", url, "\ufffd", TOKEN, SECRET)
    answer = httpx2.post(url, content=b"\xff", headers=headers)
    assert (answer.status_code, answer.json()["error"]) == (401, "malformed-body")


def test_protect_judges_the_routed_path_inside_a_mount_and_under_a_root_path() -> None:
    """An unsigned request must not reach a protected route by the way it is mounted."""
    private = Starlette(routes=[Route("/private/{rest:path}", _echo), Route("/open", _echo)])

    def protect(path: str) -> bool:
        return path.startswith("/private/")

    app = Starlette(
        routes=[
            Mount(
                "/api",
                app=TokenlyAuthMiddleware(private, secret_for={TOKEN: SECRET}, protect=protect),
            )
        ]
    )
    with serve(app) as url:
        assert httpx2.get(f"{url}/api/private/x").status_code == 401
        opened = httpx2.get(f"{url}/api/open")
        assert (opened.status_code, opened.json()["token"]) == (200, None)  # not protected
    outer = TokenlyAuthMiddleware(private, secret_for={TOKEN: SECRET}, protect=protect)

    async def behind_proxy(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = dict(scope, root_path="/prefix", path="/prefix" + scope["path"])
        await outer(scope, receive, send)

    with serve(behind_proxy) as url:
        answer = httpx2.get(f"{url}/private/x")
        assert (answer.status_code, answer.json()["error"]) == (401, "missing-header")


# ----------------------------------------------------------- the sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(TEST_SEED) as running:
        yield running


def test_the_sandbox_accepts_an_official_get_signed_over_its_query(sandbox: Sandbox) -> None:
    url = f"{sandbox.url}/api/v1/tca/addresses/dana"
    signed = '{"refresh":"1"}'
    headers = official_headers("GET", url, signed, sandbox.client_id, sandbox.client_secret)
    answer = httpx2.get(f"{url}?refresh=1", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]
    tampered = httpx2.get(f"{url}?refresh=2", headers=headers)
    assert tampered.status_code == 401


def test_the_sandbox_accepts_official_credits_with_lists_signed_as_objects(
    sandbox: Sandbox,
) -> None:
    created = sandbox.api("POST", "credits", body={"name": "Official"})
    group = created.json()["credit_group"]["uuid"]
    assert (
        sandbox.api("POST", f"credits/{group}/accounts", body={"name": "acct-1"}).status_code == 200
    )
    url = f"{sandbox.url}/api/v1/credits/{group}/accounts/credit"
    # PHP sends json_encode($params) and signs json_encode($params, FORCE_OBJECT|UNESCAPED_SLASHES).
    body = '{"accounts":[{"account":"acct-1","amount":500,"ref":"ref\\/1"}]}'
    signed = '{"accounts":{"0":{"account":"acct-1","amount":500,"ref":"ref/1"}}}'
    headers = official_headers("POST", url, signed, sandbox.client_id, sandbox.client_secret)
    answer = httpx2.post(url, content=body, headers=headers | {"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    (pair,) = answer.json()["transactions"]
    assert pair["credit"]["amount"] == "500"
    tampered = body.replace("500", "900")
    again = official_headers("POST", url, signed, sandbox.client_id, sandbox.client_secret)
    refused = httpx2.post(
        url, content=tampered, headers=again | {"Content-Type": "application/json"}
    )
    assert refused.status_code == 401


# ----------------------------------------------------------- what PHP's reading loses


@pytest.mark.parametrize(
    ("sent", "signed"),
    [
        pytest.param("amount=1\x00&amount=999", '{"amount":"1"}', id="raw-nul"),
        pytest.param("amount=1%00&amount=999", '{"amount":"1\\u0000"}', id="escaped-nul"),
        pytest.param("amount=1&admin=1&admin" + "[a]" * 65 + "=x", '{"amount":"1"}', id="too-deep"),
        pytest.param("id=1&" * 1000 + "id=666", '{"id":"1"}', id="past-1000-parts"),
        pytest.param("a.b=evil&a_b=2", '{"a_b":"2"}', id="renamed-key"),
        pytest.param("a=evil&a[x]=2", '{"a":{"x":"2"}}', id="plain-and-array"),
        pytest.param("=x&%5Ba%5D=1&%00id=5&id=1", '{"id":"1"}', id="dropped-keys"),
    ],
)
def test_php_reading_is_trusted_only_when_it_loses_nothing(sent: str, signed: str) -> None:
    """A request whose PHP reading drops or renames what the app sees never verifies with
    the signature of that reading (as a form body, a DELETE's query or a GET's)."""
    url = f"{BASE}/api/v1/x"
    form = official_headers("POST", url, signed, TOKEN, SECRET)
    form["Content-Type"] = "application/x-www-form-urlencoded"
    with pytest.raises(TokenlySignatureError):
        verify("POST", url, form, body=sent.encode())
    delete = official_headers("DELETE", url, signed, TOKEN, SECRET)
    with pytest.raises(TokenlySignatureError):
        verify("DELETE", url, delete, query=sent)
    get = official_headers("GET", url, signed, TOKEN, SECRET)
    with pytest.raises(TokenlySignatureError):
        verify("GET", url, get, query=sent)


def test_a_body_with_a_bom_is_refused() -> None:
    url = f"{BASE}/api/v1/x"
    headers = official_headers("POST", url, "{}", TOKEN, SECRET) | {
        "Content-Type": "application/json"
    }
    with pytest.raises(TokenlySignatureError) as caught:
        verify("POST", url, headers, body=b'\xef\xbb\xbf{"amount": 999}')
    assert caught.value.reason == "malformed-body"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "multipart/form-data; boundary=b",
            '--b\r\nContent-Disposition: form-data; name="amount"\r\n\r\n999\r\n--b--\r\n',
        ),
        ("application/json", "[999]"),
        ("application/json", '"999"'),
    ],
)
def test_a_body_an_app_can_read_is_never_signed_as_nothing(content_type: str, body: str) -> None:
    url = f"{BASE}/api/v1/x"
    headers = official_headers("POST", url, "{}", TOKEN, SECRET) | {"Content-Type": content_type}
    with pytest.raises(TokenlySignatureError):
        verify("POST", url, headers, body=body.encode())


def test_a_body_nested_at_the_recursion_limit_is_a_refusal_not_an_error(
    middleware_url: str,
) -> None:
    url = f"{middleware_url}/x"
    headers = official_headers("POST", url, "{}", TOKEN, SECRET) | {
        "Content-Type": "application/json"
    }
    for depth in (900, 960, 976, 990, 1000):
        body = '{"a":' * depth + "1" + "}" * depth
        answer = httpx2.post(url, content=body, headers=headers)
        assert answer.status_code == 401, depth


@pytest.mark.parametrize("host", ["testserver:abc", "testserver:99999", "[::1"])
def test_a_host_that_is_no_host_is_a_refusal(host: str) -> None:
    headers = official_headers("GET", "http://testserver/x", "{}", TOKEN, SECRET)
    with pytest.raises(TokenlySignatureError) as caught:
        verify("GET", f"http://{host}/x", headers)
    assert caught.value.reason == "malformed-header"
