"""Tokensoft's verifier and middleware: tampered requests over loopback are refused for the
right reason; odd answers map to the shared error tree."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx2
import pytest

from tca_gate import MalformedResponseError, ServerError
from tca_gate.tokensoft import (
    TokensoftClient,
    TokensoftSignatureError,
    tokensoft_signature,
    verify_tokensoft_request,
)
from tca_gate.tokensoft.testing import emulator_app
from tests.support.servers import serve

KEY, SECRET = "TS-demo-key", "TS-demo-secret"
OTHER_KEY, OTHER_SECRET = "TS-other-key", "TS-other-secret"
BODY = b'{"query":"{ currentUser { id email } }"}'
NOW = 1_700_000_000_000
#: What ``httpx2.MockTransport`` calls with each request.
Handler = Callable[[httpx2.Request], httpx2.Response]


def signed(
    body: bytes = BODY, stamp: int = NOW, key: str = KEY, secret: str = SECRET
) -> dict[str, str]:
    return {
        "access-key": key,
        "access-timestamp": str(stamp),
        "access-sign": tokensoft_signature(secret, str(stamp), body),
        "content-type": "application/json",
    }


def reason(headers: dict[str, str], body: bytes = BODY, now: int = NOW) -> str:
    with pytest.raises(TokensoftSignatureError) as caught:
        verify_tokensoft_request(
            headers, body, secret_for={KEY: SECRET, OTHER_KEY: OTHER_SECRET}, now_ms=now
        )
    return caught.value.reason


def test_a_signed_request_verifies_within_the_window() -> None:
    verified = verify_tokensoft_request(
        signed(), BODY, secret_for={KEY: SECRET}.get, now_ms=NOW + 29_000
    )
    assert (verified.access_key, verified.timestamp) == (KEY, NOW)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda h: h.pop("access-key"), "missing-key"),
        (lambda h: h.pop("access-timestamp"), "missing-timestamp"),
        (lambda h: h.pop("access-sign"), "missing-signature"),
        (lambda h: h.update({"access-key": "TS-unknown"}), "unknown-key"),
        (lambda h: h.update({"access-key": OTHER_KEY}), "bad-signature"),
        (lambda h: h.update({"access-timestamp": "17e11"}), "malformed-timestamp"),
        (lambda h: h.update({"access-timestamp": str(NOW - 31_000)}), "stale-timestamp"),
        (lambda h: h.update({"access-timestamp": str(NOW + 31_000)}), "stale-timestamp"),
        (lambda h: h.update({"access-timestamp": str(NOW + 1)}), "bad-signature"),
        (lambda h: h.update({"access-sign": h["access-sign"].upper()}), "bad-signature"),
        (lambda h: h.update({"access-sign": "0" * 64}), "bad-signature"),
    ],
)
def test_tampered_headers_are_refused_for_their_reason(
    change: Callable[[dict[str, str]], object], expected: str
) -> None:
    headers = signed()
    change(headers)
    assert reason(headers) == expected


def test_a_tampered_body_is_refused() -> None:
    assert reason(signed(), BODY.replace(b"email", b"id   ")) == "bad-signature"
    assert reason(signed(), BODY + b" ") == "bad-signature"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve(emulator_app({KEY: SECRET, OTHER_KEY: OTHER_SECRET})) as base:
        yield f"{base}/graphql"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx2.Client]:
    with httpx2.Client() as client:
        yield client


def server_now(http: httpx2.Client, url: str) -> int:
    answer = http.post(url, content=b'{"query":"{ time }"}')
    assert answer.status_code == 200
    time = answer.json()["data"]["time"]
    assert isinstance(time, int)
    return time


def refused(answer: httpx2.Response, status: int = 401) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["errors"][0]["extensions"]["code"] == body["error"]
    return str(body["error"])


def test_over_loopback_a_signed_request_passes(http: httpx2.Client, url: str) -> None:
    answer = http.post(url, content=BODY, headers=signed(stamp=server_now(http, url)))
    assert answer.json() == {
        "data": {"currentUser": {"id": f"user-{KEY}", "email": f"{KEY}@example.com"}}
    }


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("body", "bad-signature"),
        ("timestamp", "bad-signature"),
        ("stale-timestamp", "stale-timestamp"),
        ("key", "unknown-key"),
        ("other-key", "bad-signature"),
        ("signature", "bad-signature"),
        ("unsigned", "missing-key"),
    ],
)
def test_over_loopback_tampering_is_refused(
    http: httpx2.Client, url: str, tamper: str, expected: str
) -> None:
    now = server_now(http, url)
    headers, body = signed(stamp=now), BODY
    if tamper == "body":
        body = b'{"query":"{ currentUser { id } }"}'
    elif tamper == "timestamp":
        headers["access-timestamp"] = str(now + 1)
    elif tamper == "stale-timestamp":
        headers = signed(stamp=now - 120_000)
    elif tamper == "key":
        headers["access-key"] = "TS-unknown"
    elif tamper == "other-key":
        headers["access-key"] = OTHER_KEY
    elif tamper == "signature":
        headers["access-sign"] = headers["access-sign"][::-1]
    else:
        headers = {}
    assert refused(http.post(url, content=body, headers=headers)) == expected


def test_over_loopback_only_post_is_allowed(http: httpx2.Client, url: str) -> None:
    answer = http.get(url, headers=signed(stamp=server_now(http, url)))
    assert refused(answer, 405) == "method-not-allowed"
    assert answer.headers["allow"] == "POST"


def test_only_the_bare_time_query_passes_unsigned(http: httpx2.Client, url: str) -> None:
    sneaky = b'{"query":"{ time currentUser { id email } }"}'
    assert refused(http.post(url, content=sneaky)) == "missing-key"
    with_variables = b'{"query":"{ time }","variables":{"x":1}}'
    assert refused(http.post(url, content=with_variables)) == "missing-key"


@pytest.mark.parametrize(
    "document",
    [
        "{ time }",
        "{time}",
        "query { time }",
        "query{time}",
        "\n{\n\ttime,\n}\r\n",
        "\ufeff{ time }",
    ],
)
def test_the_time_query_passes_unsigned_however_it_is_spaced(
    http: httpx2.Client, url: str, document: str
) -> None:
    answer = http.post(url, content=json.dumps({"query": document}).encode())
    assert answer.status_code == 200
    assert isinstance(answer.json()["data"]["time"], int)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("{ ti me }", id="two-fields-joined"),
        pytest.param("que ry { time }", id="keyword-split"),
        pytest.param("{ time } mutation { whitelistUser(accountId: 1) }", id="second-operation"),
        pytest.param("{ time }{ time }", id="second-anonymous-operation"),
        pytest.param("{time}#", id="empty-comment"),
        pytest.param("{ time } # mutation { whitelistUser }", id="trailing-comment"),
        pytest.param("# note\n{ time }", id="leading-comment"),
        pytest.param("{ t: time }", id="alias"),
        pytest.param("{ time: currentUser { id email } }", id="alias-named-time"),
        pytest.param("query Clock { time }", id="named-operation"),
        pytest.param("{ time(zone: 1) }", id="argument"),
        pytest.param("{ time @include(if: true) }", id="directive"),
        pytest.param("{ time\u00a0}", id="no-break-space"),
        pytest.param("{\x0btime }", id="vertical-tab"),
        pytest.param("{ ti\u2028me }", id="line-separator"),
        pytest.param("subscription { time }", id="subscription"),
    ],
)
def test_anything_but_the_exact_time_query_needs_a_signature(
    http: httpx2.Client, url: str, document: str
) -> None:
    assert refused(http.post(url, content=json.dumps({"query": document}).encode())) == (
        "missing-key"
    )


def test_a_body_naming_its_query_twice_needs_a_signature(http: httpx2.Client, url: str) -> None:
    """JSON readers differ on which of two keys wins: the check must not guess."""
    body = b'{"query":"{ currentUser { id email } }","query":"{ time }"}'
    assert refused(http.post(url, content=body)) == "missing-key"


def test_every_path_is_checked(http: httpx2.Client, url: str) -> None:
    assert refused(http.post(url.replace("/graphql", "/other"), content=BODY)) == "missing-key"


def mocked(handler: Handler) -> TokensoftClient:
    transport = httpx2.MockTransport(handler)
    return TokensoftClient(
        "https://tokensoft.test/graphql", KEY, SECRET, retries=0, transport=transport
    )


def answering(time_answer: httpx2.Response, answer: httpx2.Response | None = None) -> Handler:
    def handle(request: httpx2.Request) -> httpx2.Response:
        if b"time" in request.content:
            return time_answer
        assert answer is not None
        return answer

    return handle


@pytest.mark.parametrize(
    "time_answer",
    [
        {"data": {"time": "soon"}},
        {"data": {"time": 1.7e12}},
        {"data": {"time": True}},
        {"data": {}},
    ],
)
def test_a_time_answer_that_is_not_milliseconds_is_malformed(time_answer: object) -> None:
    with (
        mocked(answering(httpx2.Response(200, json=time_answer))) as ts,
        pytest.raises(MalformedResponseError) as caught,
    ):
        ts.current_user()
    assert caught.value.field == "data.time"


def test_a_time_given_as_digits_is_used() -> None:
    seen: list[str] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.content == b'{"query":"{ time }"}':
            assert "access-sign" not in request.headers
            return httpx2.Response(200, json={"data": {"time": "1700000000000"}})
        seen.append(request.headers["access-timestamp"])
        assert request.headers["access-sign"] == tokensoft_signature(
            SECRET, seen[-1], request.content
        )
        return httpx2.Response(200, json={"data": {"currentUser": {"id": "1", "email": "e"}}})

    with mocked(handle) as ts:
        assert ts.current_user().id == "1"
    assert seen == ["1700000000000"]


def test_a_failing_time_query_is_a_server_error() -> None:
    with (
        mocked(answering(httpx2.Response(503, json={"message": "down"}))) as ts,
        pytest.raises(ServerError) as caught,
    ):
        ts.current_user()
    assert caught.value.status == 503


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        (httpx2.Response(200, content=b"<html>"), None),
        (httpx2.Response(200, json=[1]), None),
        (httpx2.Response(200, json={"errors": "bad"}), "errors"),
        (httpx2.Response(200, json={"errors": [{"path": ["x"]}]}), "errors[0].message"),
        (
            httpx2.Response(200, json={"errors": [{"message": "m", "path": [True]}]}),
            "errors[0].path",
        ),
        (httpx2.Response(200, json={"data": None}), None),
        (httpx2.Response(200, json={"data": {"currentUser": {"id": 1}}}), "data.currentUser.id"),
    ],
)
def test_odd_answers_are_malformed(answer: httpx2.Response, field: str | None) -> None:
    time_answer = httpx2.Response(200, json={"data": {"time": 1_700_000_000_000}})
    with (
        mocked(answering(time_answer, answer)) as ts,
        pytest.raises(MalformedResponseError) as caught,
    ):
        ts.current_user()
    assert caught.value.field == field
