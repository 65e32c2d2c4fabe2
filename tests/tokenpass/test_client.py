"""The Tokenpass client itself: who it says is calling, closing, async tasks, OAuth, its
configuration, and importing tca_gate without httpx2."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import typing
from collections.abc import Coroutine
from typing import Any
from urllib.parse import parse_qsl

import httpx2
import pytest

from tca_gate import InvalidArgumentError, __version__
from tca_gate.errors import ClientClosedError
from tca_gate.service import Endpoint
from tca_gate.signing.tokenly._scheme import SIGNATURE_HEADER
from tca_gate.tokenpass import (
    AsyncTokenpassClient,
    OAuthToken,
    TokenpassClient,
)
from tests.support.tokenpass_samples import (
    ADDRESS,
    BASE,
    Recorder,
    T,
    sync_client,
)


def test_every_call_says_who_is_calling() -> None:
    recorder = Recorder({"token": "A", "chatCount": 1})
    with sync_client(recorder) as tokenpass:
        tokenpass.get_token_perks("A")
    assert recorder.requests[0].headers["user-agent"] == f"tca-gate/{__version__}"


def test_a_closed_client_says_so_and_sends_nothing() -> None:
    recorder = Recorder({"result": True})
    with sync_client(recorder) as tokenpass:
        pass
    with pytest.raises(ClientClosedError) as raised:
        tokenpass.delete_address(ADDRESS, T)
    assert isinstance(raised.value, RuntimeError)
    assert str(raised.value) == (
        f"Tokenpass was not called for DELETE /api/v1/tca/address/{ADDRESS}: "
        "the client is closed; open a new one"
    )

    async def run() -> ClientClosedError:
        async with AsyncTokenpassClient(
            BASE, "i", "s", transport=httpx2.MockTransport(recorder)
        ) as asynchronous:
            pass
        with pytest.raises(ClientClosedError) as raised:
            await asynchronous.get_token_perks("A")
        return raised.value

    assert asyncio.run(run()).method == "GET"
    assert recorder.requests == []


def test_async_methods_are_typed_as_coroutines_so_tasks_can_be_made_of_them() -> None:
    async_overload = typing.get_overloads(Endpoint.__get__)[-1]
    returned = typing.get_type_hints(async_overload)["return"]
    assert typing.get_origin(typing.get_args(returned)[-1]) is Coroutine

    async def run() -> bool:
        recorder = Recorder({"result": False})
        transport = httpx2.MockTransport(recorder)
        async with AsyncTokenpassClient(BASE, "i", "s", transport=transport) as tokenpass:
            task = asyncio.create_task(tokenpass.check_address_token_access(ADDRESS, "A=1"))
            return await task

    assert asyncio.run(run()) is False


def test_oauth_code_exchange_posts_the_form_with_the_client_secret() -> None:
    recorder = Recorder(
        {"access_token": "s3cr3t", "token_type": "Bearer", "expires_in": 3600, "scope": "user,tca"}
    )
    with sync_client(recorder) as tokenpass:
        token = tokenpass.get_oauth_access_token("the-code", "https://app.example/cb")
    [request] = recorder.requests
    assert (request.method, request.url.path) == ("POST", "/oauth/access-token")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.content.decode())) == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "https://app.example/cb",
        "client_id": "client-id",
        "client_secret": "client-secret",
    }
    assert SIGNATURE_HEADER.lower() not in request.headers
    assert token == OAuthToken("s3cr3t", "Bearer", 3600, "user,tca")
    assert token.scopes == ("user", "tca")
    assert "s3cr3t" not in repr(token)


def test_oauth_user_sends_the_access_token_unsigned() -> None:
    recorder = Recorder(
        {"id": "u", "username": "a", "email": "a@x", "name": None, "email_is_confirmed": False}
    )
    with sync_client(recorder) as tokenpass:
        tokenpass.get_oauth_user("the-token")
    with sync_client(recorder, bearer=False) as tokenpass:
        tokenpass.get_oauth_user("the-token")
    bearer, parameter = recorder.requests
    assert (str(bearer.url), bearer.headers["authorization"]) == (
        f"{BASE}/oauth/user",
        "Bearer the-token",
    )
    assert (parameter.url.path, parameter.url.params["access_token"]) == (
        "/oauth/user",
        "the-token",
    )
    assert "authorization" not in parameter.headers
    for request in (bearer, parameter):
        assert SIGNATURE_HEADER.lower() not in request.headers


def test_the_authorization_url_joins_scopes_with_commas_under_the_base_path() -> None:
    with TokenpassClient("https://x.example/tp/", "client-id", "secret") as tokenpass:
        url = httpx2.URL(tokenpass.authorization_url("https://app/cb", ["user", "tca"], "s1"))
        with pytest.raises(ValueError, match="state"):
            tokenpass.authorization_url("https://app/cb", ["user"], "")
        with pytest.raises(ValueError, match="at least one scope"):
            tokenpass.authorization_url("https://app/cb", [], "s1")
    assert (url.host, url.path) == ("x.example", "/tp/oauth/authorize")
    assert dict(url.params) == {
        "client_id": "client-id",
        "redirect_uri": "https://app/cb",
        "scope": "user,tca",
        "response_type": "code",
        "state": "s1",
    }


def test_a_base_url_with_a_path_prefixes_every_call() -> None:
    recorder = Recorder({"result": True})
    with TokenpassClient(
        "http://127.0.0.1:9/tokenpass", "id", "s", transport=httpx2.MockTransport(recorder)
    ) as tokenpass:
        tokenpass.check_address_token_access(ADDRESS, "A=1")
    assert recorder.requests[0].url.path == f"/tokenpass/api/v1/tca/check-address/{ADDRESS}"


@pytest.mark.parametrize(
    ("base_url", "client_id", "secret", "options", "message"),
    [
        ("ftp://x", "id", "s", {}, "base_url must be the http"),
        ("tokenpass.example", "id", "s", {}, "base_url must be the http"),
        ("http://[::", "id", "s", {}, "base_url must be the http"),
        ("https://x", "", "s", {}, "client_id must be"),
        ("https://x", "id", " ", {}, "client_secret must be"),
        ("https://x", "id", "s", {"timeout": -1}, "timeout must be seconds"),
        ("https://x", "id", "s", {"timeout": "5"}, "timeout must be seconds"),
        ("https://x", "id", "s", {"retries": -1}, "retries must not be negative"),
    ],
)
def test_bad_configuration_is_refused(
    base_url: str, client_id: str, secret: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        TokenpassClient(base_url, client_id, secret, **options)


BLOCK_HTTPX = """
import sys
sys.modules["httpx2"] = None
import tca_gate
assert tca_gate.compile_rule("LTBCOIN=1").evaluate({"LTBCOIN": 100000000})
try:
    import tca_gate.tokenpass
except ImportError as error:
    print(error)
else:
    raise SystemExit("imported without httpx2")
"""


def test_import_tca_gate_works_without_httpx_and_the_client_names_the_extra() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_HTTPX], capture_output=True, text=True, check=True
    )
    assert "pip install 'tca-gate[tokenpass]'" in result.stdout
    assert "httpx2 is missing" in result.stdout
