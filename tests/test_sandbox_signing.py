"""What the sandbox verifies a request's Tokenly HMAC signature over, per method (services.md)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import httpx
import pytest

from tca_gate import sign_tokenly_request
from tests.sandboxes import TEST_SEED, Sandbox, running_sandbox

DANAS_ADDRESS = "1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(TEST_SEED) as running:
        yield running


def _send(
    sandbox: Sandbox, method: str, path: str, query: Mapping[str, str], signed_over: object
) -> httpx.Response:
    url = f"{sandbox.url}/api/v1/{path}"
    params = signed_over if isinstance(signed_over, dict) else None
    headers = sign_tokenly_request(method, url, params, sandbox.client_id, sandbox.client_secret)
    return httpx.request(method, url, params=query, headers=headers)


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
