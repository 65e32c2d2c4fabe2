"""The one verify-claim-refuse flow, as every verifier runs it over loopback: each scheme's
middleware and both webhooks refuse a body over the limit (413), a method they do not
take (405, with ``Allow``), a replay store that fails (503 with ``Retry-After``) and a bad
signature (401 with the scheme's reason), in their own JSON shapes; what they let in
reaches the app with its body whole; refusals are logged without a credential; the sync
verifiers claim through the same replay claim, failing closed."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from tca_gate import MemoryReplayStore, RedisReplayStore, sign_tokenly_request
from tca_gate.balances import CachedBalances, StaticBalances
from tca_gate.delivery import DeliveryWebhook
from tca_gate.errors import ReplayStoreUnavailableError, TokenlySignatureError
from tca_gate.gate import BalanceWebhook
from tca_gate.signing.tdx import TDXAuthMiddleware, sign_tdx_request, verify_tdx_request
from tca_gate.signing.tokenly import TokenlyAuthMiddleware, verify_tokenly_request
from tca_gate.signing.tokensnet import TokensNetAuthMiddleware, signing_headers
from tca_gate.signing.tokensoft import TokensoftAuthMiddleware
from tca_gate.signing.verifying import Refusals, verify_request
from tests.support.redis_server import free_port
from tests.support.servers import serve

TOKEN, SECRET = "flow-token", "flow-secret-never-shown"
TDX_KEY, TDX_SECRET = "flow-tdx-key", "0c3c11e3e74de307866a2d67a9c71f97"
LIMIT = 64


class DownStore:
    """A replay store whose every claim fails, as Redis does when it is down."""

    def claim(self, key: str, ttl: float) -> bool:
        raise ConnectionError("redis is down")


async def echo(request: Request) -> JSONResponse:
    """What the app received: the method and how much of the body."""
    return JSONResponse({"method": request.method, "read": len(await request.body())})


ECHO = Starlette(routes=[Route("/echo", echo, methods=["GET", "POST", "PUT"])])


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    """Every verifier of the package, each on a path of one app under uvicorn."""
    secrets = {TOKEN: SECRET}
    cache = CachedBalances(StaticBalances({"users": {}}))
    app = Starlette(
        routes=[
            Mount(
                "/tokenly",
                TokenlyAuthMiddleware(
                    ECHO, secret_for=secrets, replay_store=DownStore(), max_body=LIMIT
                ),
            ),
            Mount(
                "/tokenly-once",
                TokenlyAuthMiddleware(
                    ECHO, secret_for=secrets, replay_store=MemoryReplayStore(), max_body=LIMIT
                ),
            ),
            Mount(
                "/tdx",
                TDXAuthMiddleware(
                    ECHO, secret_for={TDX_KEY: TDX_SECRET}, nonce_store=DownStore(), max_body=LIMIT
                ),
            ),
            Mount("/tokensoft", TokensoftAuthMiddleware(ECHO, secret_for=secrets, max_body=LIMIT)),
            Mount(
                "/tokensnet", TokensNetAuthMiddleware(ECHO, secret_for=secrets, protect=all_paths)
            ),
            Route(
                "/balances",
                BalanceWebhook(
                    cache,
                    api_token=TOKEN,
                    api_secret=SECRET,
                    replay_store=DownStore(),
                    max_body=LIMIT,
                ),
            ),
            Route(
                "/deliveries",
                DeliveryWebhook(
                    api_token=TOKEN, api_secret=SECRET, replay_store=DownStore(), max_body=LIMIT
                ),
            ),
        ]
    )
    with serve(app) as url:
        yield url


def all_paths(path: str) -> bool:
    return True


def signed_post(url: str, body: bytes) -> httpx2.Response:
    """``body`` POSTed to ``url`` with Tokenly HMAC auth over it."""
    headers = sign_tokenly_request("POST", url, json.loads(body), TOKEN, SECRET)
    return httpx2.post(url, content=body, headers={**headers, "Content-Type": "application/json"})


BIG = json.dumps({"event": "balances.changed", "usernames": ["x" * LIMIT]}).encode()
SMALL = json.dumps({"event": "balances.changed", "usernames": ["bob"]}).encode()


@pytest.mark.parametrize(
    "path", ["/tokenly/echo", "/tdx/echo", "/tokensoft/echo", "/balances", "/deliveries"]
)
def test_a_body_over_the_limit_is_a_413_before_any_signature_is_read(base: str, path: str) -> None:
    answer = httpx2.post(base + path, content=BIG)
    assert answer.status_code == 413
    assert answer.json()["error"] == "body-too-large"
    assert answer.json()["message"] == f"the request body is over {LIMIT} bytes"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/tokensoft/echo", "GraphQL requests are POSTs"),
        ("/balances", "use POST"),
        ("/deliveries", "use POST"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_a_post_only_verifier_answers_405_with_allow_before_reading(
    base: str, path: str, message: str, method: str
) -> None:
    answer = httpx2.request(method, base + path, content=BIG if method == "PUT" else None)
    assert (answer.status_code, answer.headers["allow"]) == (405, "POST")
    assert answer.json()["error"] == "method-not-allowed"
    assert answer.json()["message"] == message


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/tokenly/echo", "replay-store-unavailable"),
        ("/balances", "replay-store-unavailable"),
        ("/deliveries", "replay-store-unavailable"),
        ("/tdx/echo", "nonce-store-unavailable"),
    ],
)
def test_a_store_that_fails_is_a_503_with_retry_after_never_a_pass(
    base: str, path: str, reason: str
) -> None:
    url = base + path
    if path.startswith("/tdx"):
        header = sign_tdx_request("GET", url, api_key=TDX_KEY, api_secret=TDX_SECRET)
        answer = httpx2.get(url, headers={"Authorization": header})
    else:
        answer = signed_post(url, SMALL)
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "5")
    assert answer.json()["error"] == reason
    assert "read" not in answer.json()


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/tokenly/echo", {"error", "message"}),
        ("/tdx/echo", {"error", "message"}),
        ("/balances", {"error", "message"}),
        ("/tokensoft/echo", {"error", "message", "errors"}),
        ("/tokensnet/echo", {"timestamp", "status", "errorCode", "reason"}),
    ],
)
def test_an_unsigned_request_is_a_401_in_the_schemes_own_shape(
    base: str, path: str, shape: set[str]
) -> None:
    answer = httpx2.post(base + path, content=SMALL)
    assert answer.status_code == 401
    assert set(answer.json()) == shape


def test_an_accepted_request_reaches_the_app_with_its_body_once(base: str) -> None:
    url = f"{base}/tokenly-once/echo"
    headers = sign_tokenly_request("POST", url, json.loads(SMALL), TOKEN, SECRET)
    first = httpx2.post(url, content=SMALL, headers=headers)
    again = httpx2.post(url, content=SMALL, headers=headers)
    assert first.json() == {"method": "POST", "read": len(SMALL)}
    assert (again.status_code, again.json()["error"]) == (401, "replayed-request")


def test_a_scheme_that_signs_no_body_leaves_it_to_the_app_whole(base: str) -> None:
    body = b"x" * (2 << 20)  # past every verifier's default limit
    answer = httpx2.post(
        f"{base}/tokensnet/echo", content=body, headers=signing_headers(TOKEN, SECRET, 1)
    )
    assert answer.json() == {"method": "POST", "read": len(body)}


def test_refusals_are_logged_by_status_and_reason_without_a_credential(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("tests.verifying")
    refusals = Refusals(logger=logger)

    async def refused(body: bytes) -> None:
        raise TokenlySignatureError("bad-signature", f"the signature does not match ({SECRET})")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert await verify_request(scope, receive, send, refused, refusals=refusals) is None

    with caplog.at_level(logging.WARNING, logger="tests.verifying"), serve(app) as url:
        answer = httpx2.post(url, content=b"{}", headers={"X-Tokenly-Auth-Signature": SECRET})
    assert (answer.status_code, answer.json()["error"]) == (401, "bad-signature")
    assert [record.getMessage() for record in caplog.records] == ["refused with 401: bad-signature"]


def test_the_sync_verifiers_claim_as_the_flow_does_failing_closed() -> None:
    store = RedisReplayStore.from_url(f"redis://127.0.0.1:{free_port()}/0")  # nobody there
    url = "http://api.example/echo"
    tokenly = sign_tokenly_request("GET", url, None, TOKEN, SECRET)
    with pytest.raises(ReplayStoreUnavailableError):
        verify_tokenly_request("GET", url, tokenly, secret_for={TOKEN: SECRET}, replay_store=store)
    tdx = {"Authorization": sign_tdx_request("GET", url, api_key=TDX_KEY, api_secret=TDX_SECRET)}
    with pytest.raises(ReplayStoreUnavailableError):
        verify_tdx_request(
            "GET",
            "/echo",
            "",
            tdx | {"Host": "api.example"},
            secret_for={TDX_KEY: TDX_SECRET},
            nonce_store=store,
        )
    store.close()
    once = MemoryReplayStore()
    verify_tokenly_request("GET", url, tokenly, secret_for={TOKEN: SECRET}, replay_store=once)
    with pytest.raises(TokenlySignatureError, match="already used"):
        verify_tokenly_request("GET", url, tokenly, secret_for={TOKEN: SECRET}, replay_store=once)
