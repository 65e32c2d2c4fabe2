"""What the sandbox verifies a request's Tokenly HMAC signature over, per method (services.md)."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping

import httpx2
import pytest

from tca_gate import sign_tokenly_request
from tca_gate.sandbox._bodies import MAX_BODY
from tca_gate.tokenpass import TokenpassClient
from tests.support.sandboxes import TEST_SEED, Sandbox, running_sandbox

DANAS_ADDRESS = "1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(TEST_SEED) as running:
        yield running


def _send(
    sandbox: Sandbox, method: str, path: str, query: Mapping[str, str], signed_over: object
) -> httpx2.Response:
    url = f"{sandbox.url}/api/v1/{path}"
    params = signed_over if isinstance(signed_over, dict) else None
    headers = sign_tokenly_request(method, url, params, sandbox.client_id, sandbox.client_secret)
    return httpx2.request(method, url, params=query, headers=headers)


def test_a_delete_is_signed_over_its_query_parameters(sandbox: Sandbox) -> None:
    token = sandbox.access_token("dana", ["user", "tca", "manage-address"])
    query = {"oauth_token": token}
    path = f"tca/address/{DANAS_ADDRESS}"
    refused = _send(sandbox, "DELETE", path, query, {})
    assert refused.status_code == 401
    assert "signature" in refused.json()["error"]
    assert sandbox.api("GET", "tca/addresses/dana").json()["result"]  # nothing was deleted
    answer = _send(sandbox, "DELETE", path, query, dict(query))
    assert answer.json() == {"result": True}
    assert sandbox.api("GET", "tca/addresses/dana").json()["result"] == []


def test_a_delete_signature_covers_the_values_sent(sandbox: Sandbox) -> None:
    token = sandbox.access_token("dana", ["user", "tca", "manage-address"])
    path = f"tca/address/{DANAS_ADDRESS}"
    answer = _send(sandbox, "DELETE", path, {"oauth_token": token}, {"oauth_token": "other"})
    assert answer.status_code == 401


def test_a_delete_without_parameters_is_signed_over_an_empty_object(sandbox: Sandbox) -> None:
    answer = _send(sandbox, "DELETE", f"tca/provisional/{DANAS_ADDRESS}", {}, {})
    assert answer.status_code == 404  # signed correctly, but not a whitelisted source


def test_a_get_is_signed_over_an_empty_object_whatever_its_query(sandbox: Sandbox) -> None:
    query = {"TOKENLY": "1"}
    answer = _send(sandbox, "GET", f"tca/check-address/{DANAS_ADDRESS}", query, {})
    assert answer.status_code == 200
    assert isinstance(answer.json()["result"], bool)


@pytest.mark.parametrize("name", ["my acct", "caf\u00e9 \u00e9t\u00e9", "100%"])
def test_a_path_is_checked_as_the_client_signed_it_percent_encoded(
    sandbox: Sandbox, name: str
) -> None:
    with TokenpassClient(sandbox.url, sandbox.client_id, sandbox.client_secret) as tokenpass:
        group = tokenpass.new_app_credit_group("Store credits", ["other-app"])
        created = tokenpass.new_app_credit_account(group.uuid, name)
        assert tokenpass.get_app_credit_account(group.uuid, name).uuid == created.uuid


@pytest.mark.parametrize(
    ("path", "field", "body"),
    [
        ("register", "password", {"client_id": "test-app", "username": "x", "email": "x@y.z"}),
        ("credits", "name", {}),
        ("tca/provisional/tx", "note", {"source": DANAS_ADDRESS, "destination": "user:dana"}),
        ("credits", "app_whitelist[0]", {"name": "ok", "app_whitelist": ["\ud800"]}),
    ],
)
def test_text_that_is_not_valid_unicode_is_a_400_naming_the_field(
    sandbox: Sandbox, path: str, field: str, body: dict[str, object]
) -> None:
    sent = body if "[" in field else body | {field: "before \ud800 after"}
    answer = sandbox.api("POST", path, body=sent)
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == field
    assert "not valid Unicode" in answer.json()["error"]


def test_a_lone_surrogate_in_an_address_label_is_a_400(sandbox: Sandbox) -> None:
    token = sandbox.access_token("dana", ["user", "manage-address"])
    body = {"address": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "label": "\udfff"}
    answer = sandbox.api("POST", "tca/address", body=body, oauth_token=token)
    assert (answer.status_code, answer.json()["field"]) == (400, "label")


def test_a_body_declared_too_large_is_refused_before_it_is_read(sandbox: Sandbox) -> None:
    port = int(sandbox.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(
            b"POST /api/v1/credits HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n{" % (MAX_BODY + 1)
        )
        answer = connection.recv(4096)
        while not answer.endswith(b"}"):
            more = connection.recv(4096)
            assert more, answer
            answer += more
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"field":"body"' in answer


def test_a_streamed_body_over_the_cap_is_refused(sandbox: Sandbox) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY // 65536 + 2):
            yield b" " * 65536

    answer = httpx2.post(f"{sandbox.url}/api/v1/credits", content=chunks(), timeout=10)
    assert answer.status_code == 413
    assert str(MAX_BODY) in answer.json()["error"]
