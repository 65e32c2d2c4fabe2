"""What an adversarial review of the verifiers found, each now refused over loopback: a
websocket handshake on a protected path (it carried no signature), a body on a signed
GET, repeated auth headers (the app could read the other copy), a verifier asked to read
no body, and a TDX refusal echoing part of a signature."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tca_gate.errors import InvalidArgumentError
from tca_gate.signing.tdx import TDXAuthMiddleware
from tca_gate.signing.tokenly import TokenlyAuthMiddleware, sign_tokenly_request
from tca_gate.signing.tokensnet import TokensNetAuthMiddleware
from tca_gate.signing.tokensoft import TokensoftAuthMiddleware
from tests.support.servers import serve

TOKEN, SECRET = "Tapp", "Ksecret"


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"method": request.method, "body": (await request.body()).decode()})


async def talk(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("private data")
    await websocket.close()


def app_behind(middleware: Callable[..., ASGIApp], **options: object) -> ASGIApp:
    inner = Starlette(
        routes=[
            Route("/private/echo", echo, methods=["GET", "POST"]),
            WebSocketRoute("/private/ws", talk),
        ]
    )
    return middleware(inner, **options)


MIDDLEWARES: dict[str, Callable[[], ASGIApp]] = {
    "tokenly": lambda: app_behind(TokenlyAuthMiddleware, secret_for={TOKEN: SECRET}),
    "tdx": lambda: app_behind(TDXAuthMiddleware, secret_for={"k": "00" * 32}),
    "tokensoft": lambda: app_behind(TokensoftAuthMiddleware, secret_for={"k": "s"}),
    "tokensnet": lambda: app_behind(TokensNetAuthMiddleware, secret_for={"k": "s"}),
}


@pytest.fixture(params=sorted(MIDDLEWARES))
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    with serve(MIDDLEWARES[request.param]()) as served:
        yield served


def test_a_websocket_on_a_protected_path_is_refused_at_the_handshake(url: str) -> None:
    with (
        pytest.raises(InvalidStatus) as refused,
        connect(url.replace("http", "ws") + "/private/ws"),
    ):
        pass
    assert refused.value.response.status_code == 403


@pytest.fixture
def tokenly() -> Iterator[str]:
    with serve(MIDDLEWARES["tokenly"]()) as served:
        yield served


def test_a_signed_get_carrying_a_body_is_refused(tokenly: str) -> None:
    headers = sign_tokenly_request("GET", f"{tokenly}/private/echo", None, TOKEN, SECRET)
    answer = httpx2.request(
        "GET", f"{tokenly}/private/echo", headers=headers, content=b'{"to": "attacker"}'
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "malformed-body"


def test_a_repeated_tokenly_auth_header_is_refused(tokenly: str) -> None:
    body = {"a": 1}
    signed = sign_tokenly_request("POST", f"{tokenly}/private/echo", body, TOKEN, SECRET)
    headers = [*signed.items(), ("X-Tokenly-Auth-Api-Token", "victim")]
    headers.insert(0, ("X-Tokenly-Auth-Api-Token", "victim"))
    answer = httpx2.post(
        f"{tokenly}/private/echo", headers=headers, content=json.dumps(body).encode()
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "malformed-header"


def test_a_repeated_tokensoft_auth_header_is_refused() -> None:
    with serve(MIDDLEWARES["tokensoft"]()) as url:
        answer = httpx2.post(
            f"{url}/private/echo",
            headers=[("access-key", "k"), ("access-key", "victim"), ("access-timestamp", "1")],
            content=b"{}",
        )
    assert answer.status_code == 401
    assert "repeated" in answer.text


@pytest.mark.parametrize(
    "middleware", [TokenlyAuthMiddleware, TDXAuthMiddleware, TokensoftAuthMiddleware]
)
@pytest.mark.parametrize("max_body", [None, 0, -1, True, 1.5])
def test_a_verifier_reading_no_body_is_refused_at_construction(
    middleware: type, max_body: object
) -> None:
    with pytest.raises(InvalidArgumentError, match="max_body"):
        middleware(Starlette(), secret_for={}, max_body=max_body)


def test_a_tdx_refusal_names_the_field_not_its_value() -> None:
    signature = "2F95T/rOOl6RzMAJ2yyhJhD2mpoxkQ2u3sAQhOmnHq4="
    with serve(MIDDLEWARES["tdx"]()) as url:
        answer = httpx2.get(
            f"{url}/private/echo",
            headers={"Authorization": f"TDXV1-HMAC-SHA256 Signature={signature} Bogus=1"},
        )
    assert answer.status_code == 401
    assert signature[:8] not in answer.text


class Recorder:
    """An app behind the Tokensoft middleware that records the bodies it was handed."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        self.bodies.append(await request.body())
        await JSONResponse({"ran": True})(scope, receive, send)


def test_the_unsigned_time_query_is_answered_by_the_middleware_not_handed_on() -> None:
    inner = Recorder()
    app = TokensoftAuthMiddleware(inner, secret_for={"k": "s"}, clock=lambda: 1_700_000_000_123)
    with serve(app) as url:
        answer = httpx2.post(
            f"{url}/admin/flush-everything?query=mutation%7Bdrop%7D",
            content=b'{"query":"{ time }"}',
        )
    assert answer.json() == {"data": {"time": 1_700_000_000_123}}
    assert inner.bodies == []  # nothing unsigned reached the app


def test_a_tokensoft_replay_store_accepts_a_signed_request_once() -> None:
    from tca_gate.signing.replay import MemoryReplayStore
    from tca_gate.tokensoft import server_time_ms, tokensoft_signature

    inner = Recorder()
    app = TokensoftAuthMiddleware(inner, secret_for={"k": "s"}, replay_store=MemoryReplayStore())
    body = b'{"query":"{ currentUser { id } }"}'
    stamp = str(server_time_ms())
    headers = {
        "access-key": "k",
        "access-timestamp": stamp,
        "access-sign": tokensoft_signature("s", stamp, body),
        "content-type": "application/json",
    }
    with serve(app) as url:
        first = httpx2.post(f"{url}/graphql", content=body, headers=headers)
        again = httpx2.post(f"{url}/graphql", content=body, headers=headers)
    assert first.status_code == 200
    assert again.status_code == 401
    assert again.json()["error"] == "replayed-request"
    assert inner.bodies == [body]


@pytest.mark.parametrize("max_body", [None, 0, -5, False])
def test_a_webhook_reading_no_body_is_refused_at_construction(max_body: object) -> None:
    from tca_gate.balances import BalanceWebhook, CachedBalances, StaticBalances
    from tca_gate.delivery import DeliveryWebhook

    cache = CachedBalances(StaticBalances({}))
    for webhook in (BalanceWebhook, DeliveryWebhook):
        with pytest.raises(InvalidArgumentError, match="max_body"):
            webhook(cache, api_token="t", api_secret="s", max_body=max_body)  # type: ignore[arg-type]
