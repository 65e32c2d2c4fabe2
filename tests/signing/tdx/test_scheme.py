"""TDX-style HMAC: the signed text, check values, and every refusal reason of the verifier."""

from __future__ import annotations

import base64
import hashlib
import hmac

import httpx2
import pytest

from tca_gate import InvalidArgumentError, MemoryReplayStore
from tca_gate.tdx import (
    AmbiguousRequestError,
    TDXAuth,
    TDXSignatureError,
    TDXSignedRequest,
    hash_to_sign,
    parse_authorization,
    sign_tdx_request,
    string_to_hash,
    verify_tdx_request,
)

# The example values of seed 004.
API_KEY = "fcebf5ef5-69d3-4a37-b1d3-69fd462cf54c"
SECRET = "0c3c11e3e74de307866a2d67a9c71f97"
NONCE = "f93c979d-b00d-43a9-9b9c-fd4cd9547fa6"
TIMESTAMP = 1567755304968
NOW = TIMESTAMP / 1000
BODY = b'{"side":"buy","quantity":"10"}'


def test_get_check_value_computed_with_openssl() -> None:
    # printf '%s' "$string_to_hash" | openssl dgst -sha256 -binary | base64, then
    # printf '%s' "$hash" | openssl dgst -sha256 -mac HMAC -macopt hexkey:$SECRET -binary | base64
    text = string_to_hash(
        api_key=API_KEY,
        nonce=NONCE,
        timestamp=TIMESTAMP,
        method="get",
        host="API.Example.com:8443",
        path="/api/v1/orders/",
        query="limit=100&sort=asc",
    )
    assert text == (
        b"fcebf5ef5-69d3-4a37-b1d3-69fd462cf54c f93c979d-b00d-43a9-9b9c-fd4cd9547fa6 "
        b"1567755304968 GET api.example.com:8443 /api/v1/orders limit=100&sort=asc"
    )
    assert hash_to_sign(text) == "fx6b0ZwmrG5Kb/zE1dWR6zwOmHJ20RzQi4j+pz2oJQM="
    header = sign_tdx_request(
        "GET",
        "https://API.example.com:8443/api/v1/orders?limit=100&sort=asc",
        api_key=API_KEY,
        api_secret=SECRET,
        nonce=NONCE,
        timestamp=TIMESTAMP,
    )
    assert header == (
        f"TDXV1-HMAC-SHA256 ApiKey={API_KEY} Nonce={NONCE} Timestamp={TIMESTAMP} "
        "Signature=hDBKP5CFWFZGuyUH+s35F7n0j/EdhoruEYNAWkvKV2k="
    )


def test_post_check_value_computed_with_openssl() -> None:
    header = sign_tdx_request(
        "POST",
        "https://api.example.com/api/v1/orders",
        api_key=API_KEY,
        api_secret=SECRET,
        content_type="application/json",
        body=BODY,
        nonce=NONCE,
        timestamp=TIMESTAMP,
    )
    assert header.endswith(" Signature=rhXtF/Mw2PcCniNqDY1+Uw7x14zeRQ7ntkY/b+wD+bc=")


def test_key_is_the_hex_decoded_secret_not_its_text() -> None:
    text = string_to_hash(
        api_key=API_KEY, nonce=NONCE, timestamp=TIMESTAMP, method="GET", host="h", path="/"
    )
    as_text = base64.b64encode(
        hmac.new(SECRET.encode(), hash_to_sign(text).encode(), hashlib.sha256).digest()
    ).decode()
    header = sign_tdx_request(
        "GET", "http://h/", api_key=API_KEY, api_secret=SECRET, nonce=NONCE, timestamp=TIMESTAMP
    )
    assert as_text not in header
    assert text == f"{API_KEY} {NONCE} {TIMESTAMP} GET h /".encode()


def test_empty_parts_are_left_out_and_the_body_is_signed_as_is() -> None:
    text = string_to_hash(
        api_key="k",
        nonce="n",
        timestamp=1,
        method="put",
        host="h",
        path="",
        query="",
        content_type="application/octet-stream",
        body=b"\xff raw",
    )
    assert text == b"k n 1 PUT h / application/octet-stream \xff raw"


@pytest.mark.parametrize("secret", ["", "abc", "zz", "0c 3c", "0c3c\n"])
def test_secret_must_be_hex(secret: str) -> None:
    with pytest.raises(InvalidArgumentError, match="hex"):
        sign_tdx_request("GET", "http://h/", api_key="k", api_secret=secret)


def verify(
    method: str = "GET",
    path: str = "/api/v1/orders",
    query: str = "limit=100",
    *,
    header: str | None = None,
    host: str = "api.example.com",
    content_type: str = "",
    body: bytes = b"",
    now: float = NOW,
    store: MemoryReplayStore | None = None,
) -> TDXSignedRequest:
    """Verify a request signed as GET api.example.com/api/v1/orders?limit=100."""
    if header is None:
        header = sign_tdx_request(
            "GET",
            "https://api.example.com/api/v1/orders?limit=100",
            api_key=API_KEY,
            api_secret=SECRET,
            nonce=NONCE,
            timestamp=TIMESTAMP,
        )
    headers = {"Authorization": header, "Host": host}
    if content_type:
        headers["Content-Type"] = content_type
    return verify_tdx_request(
        method,
        path,
        query,
        headers,
        body,
        secret_for={API_KEY: SECRET},
        nonce_store=store or MemoryReplayStore(),
        now=now,
    )


def reason(**changes: object) -> str:
    with pytest.raises(TDXSignatureError) as refused:
        verify(**changes)  # type: ignore[arg-type]
    return refused.value.reason


def test_the_signed_request_is_accepted_once() -> None:
    store = MemoryReplayStore()
    assert verify(store=store) == TDXSignedRequest(API_KEY, NONCE, TIMESTAMP)
    assert reason(store=store) == "replayed-nonce"


@pytest.mark.parametrize(
    "changes",
    [
        {"method": "POST"},
        {"host": "api.example.com:8443"},
        {"host": "evil.example.com"},
        {"path": "/api/v1/order"},
        {"query": "limit=1000"},
        {"query": ""},
        {"body": b"{}", "content_type": "application/json"},
    ],
)
def test_tampering_breaks_the_signature(changes: dict[str, object]) -> None:
    assert reason(**changes) == "bad-signature"


def test_host_case_and_trailing_slash_do_not_matter() -> None:
    assert verify(host="API.Example.COM", path="/api/v1/orders/").nonce == NONCE


def test_timestamp_window_is_150_seconds_either_way() -> None:
    assert verify(now=NOW + 150).timestamp == TIMESTAMP
    assert verify(now=NOW - 150).timestamp == TIMESTAMP
    assert reason(now=NOW + 150.01) == "stale-timestamp"
    assert reason(now=NOW - 150.01) == "future-timestamp"


def test_unknown_api_key() -> None:
    header = sign_tdx_request(
        "GET", "https://api.example.com/api/v1/orders?limit=100", api_key="other",
        api_secret=SECRET, nonce=NONCE, timestamp=TIMESTAMP,
    )  # fmt: skip
    assert reason(header=header) == "unknown-api-key"


def test_a_forged_request_does_not_use_up_the_nonce() -> None:
    store = MemoryReplayStore()
    assert reason(store=store, method="DELETE") == "bad-signature"
    assert verify(store=store).nonce == NONCE


GOOD = f"ApiKey={API_KEY} Nonce={NONCE} Timestamp={TIMESTAMP} Signature=c2ln"


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ("", "missing-authorization"),
        ("   ", "missing-authorization"),
        (f"Bearer {GOOD}", "unsupported-scheme"),
        (f"tdxv1-hmac-sha256 {GOOD}", "unsupported-scheme"),
        (f"TDXV1-HMAC-SHA256 {GOOD} Extra=1", "malformed-authorization"),
        (f"TDXV1-HMAC-SHA256 {GOOD} Nonce={NONCE}", "malformed-authorization"),
        (f"TDXV1-HMAC-SHA256 {GOOD.replace('Signature=c2ln', 'Signature=')}",
         "malformed-authorization"),
        (f"TDXV1-HMAC-SHA256 {GOOD.replace(' Signature=c2ln', '')}", "malformed-authorization"),
        ("TDXV1-HMAC-SHA256 " + ", ".join(GOOD.split()), "malformed-authorization"),
        (f"TDXV1-HMAC-SHA256 {GOOD.replace(NONCE, '12345')}", "malformed-nonce"),
        (f"TDXV1-HMAC-SHA256 {GOOD.replace(NONCE, NONCE.replace('-43a9', '-13a9'))}",
         "malformed-nonce"),
        (f"TDXV1-HMAC-SHA256 {GOOD.replace(str(TIMESTAMP), '1567755304.968')}",
         "malformed-timestamp"),
        (f"TDXV1-HMAC-SHA256 {GOOD.replace(str(TIMESTAMP), '-1')}", "malformed-timestamp"),
        (f"TDXV1-HMAC-SHA256 {GOOD}", "bad-signature"),
    ],
)  # fmt: skip
def test_malformed_headers_are_refused_with_their_reason(header: str, why: str) -> None:
    assert reason(header=header) == why


def test_parse_reads_fields_in_any_order() -> None:
    fields = GOOD.split()
    credentials = parse_authorization("TDXV1-HMAC-SHA256 " + " ".join(reversed(fields)))
    assert (credentials.api_key, credentials.timestamp) == (API_KEY, TIMESTAMP)


def test_signature_with_padding_keeps_its_equals_signs() -> None:
    credentials = parse_authorization(f"TDXV1-HMAC-SHA256 {GOOD.replace('c2ln', 'YQ==')}")
    assert credentials.signature == "YQ=="


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"content_type": "limit=100", "query": ""}, "the Content-Type 'limit=100' is not a media"),
        ({"content_type": "application/json"}, "a Content-Type on a request without a body"),
        ({"body": b"{}"}, "a request body without a Content-Type"),
        ({"content_type": "text/plain;", "body": b"x"}, "not a media type"),
        ({"content_type": "text/plain ;charset=x", "body": b"x"}, "not a media type"),
        ({"content_type": "text/plain;charset", "body": b"x"}, "not a media type"),
        ({"content_type": 'text/plain;p="a b"', "body": b"x"}, "not a media type"),
        ({"content_type": "text/plain; p=a b", "body": b"x"}, "not a media type"),
        ({"content_type": "text/plain", "body": b"x", "query": "a/b"}, "reads as the start"),
        ({"query": "text/plain;charset=x;"}, "reads as the start of a Content-Type"),
        ({"query": "limit=100 x"}, "the query holds whitespace"),
        ({"path": "/api/v1/orders /x"}, "the path holds whitespace"),
        ({"host": ""}, "the Host must be one word"),
        ({"host": "api.example.com /api"}, "the Host must be one word"),
        ({"method": "GET /"}, "the method must be one word"),
    ],
)
def test_parts_that_could_slide_into_their_neighbours_are_refused(
    changes: dict[str, object], why: str
) -> None:
    with pytest.raises(TDXSignatureError) as refused:
        verify(**changes)  # type: ignore[arg-type]
    assert refused.value.reason == "ambiguous-request"
    assert why in str(refused.value)
    for part in ("path", "query"):  # never echoed: they may carry a token
        assert not changes.get(part) or str(changes[part]) not in str(refused.value)


@pytest.mark.parametrize(
    ("query", "content_type", "body"),
    [
        ("limit=100", "", b""),
        ("", "application/json", BODY),
        ("a/b=1&c=text/plain", "application/json; charset=utf-8", BODY),
        ("", 'multipart/form-data;\tboundary="x\\"y";a=b', b"--x--"),
        ("", "text/plain", b"a/b hello"),
    ],
)
def test_unambiguous_requests_are_signed_and_verified(
    query: str, content_type: str, body: bytes
) -> None:
    header = sign_tdx_request(
        "POST",
        f"https://api.example.com/api/v1/orders?{query}",
        api_key=API_KEY,
        api_secret=SECRET,
        content_type=content_type,
        body=body,
        nonce=NONCE,
        timestamp=TIMESTAMP,
    )
    signed = verify("POST", query=query, header=header, content_type=content_type, body=body)
    assert signed.nonce == NONCE


def test_the_signer_refuses_what_the_verifier_would() -> None:
    with pytest.raises(AmbiguousRequestError, match="a Content-Type on a request without"):
        sign_tdx_request(
            "GET", "https://h/x", api_key=API_KEY, api_secret=SECRET, content_type="a/b"
        )
    assert issubclass(AmbiguousRequestError, InvalidArgumentError)


def test_tdx_auth_never_sends_an_ambiguous_request() -> None:
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(200)

    transport = httpx2.MockTransport(handler)
    with httpx2.Client(transport=transport, auth=TDXAuth(API_KEY, SECRET)) as client:
        assert client.post("https://h/x?limit=1", json={}).status_code == 200
        with pytest.raises(AmbiguousRequestError, match="without a Content-Type"):
            client.post("https://h/x", content=b"limit=1")
        with pytest.raises(AmbiguousRequestError, match="Content-Type 'limit=1'"):
            client.get("https://h/x", headers={"Content-Type": "limit=1"})
    assert [request.url.path for request in sent] == ["/x"]


def test_repeated_signed_headers_are_refused_whatever_the_mapping() -> None:
    from starlette.datastructures import Headers

    header = sign_tdx_request(
        "GET", "https://api.example.com/api/v1/orders?limit=100", api_key=API_KEY,
        api_secret=SECRET, nonce=NONCE, timestamp=TIMESTAMP,
    )  # fmt: skip
    signed = [(b"authorization", header.encode()), (b"host", b"api.example.com")]
    for repeated in ((b"host", b"api.example.com"), (b"content-type", b"a/b")):
        headers = Headers(raw=[*signed, repeated, repeated])
        with pytest.raises(TDXSignatureError, match="more than one") as refused:
            verify_tdx_request(
                "GET", "/api/v1/orders", "limit=100", headers, secret_for={API_KEY: SECRET},
                nonce_store=MemoryReplayStore(), now=NOW,
            )  # fmt: skip
        assert refused.value.reason == "ambiguous-request"
