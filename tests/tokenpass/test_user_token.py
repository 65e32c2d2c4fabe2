"""Where the Tokenpass client puts a user's token, and that no log record shows it.

By default the token goes in ``Authorization: Bearer``; ``bearer=False`` sends the
``oauth_token`` parameter; a server that answers that the token is missing (one that
reads only the parameter, as the last hosted Tokenpass servers may have) gets the call
again with the parameter, and every later call with it. The parameter-only server here
is the sandbox behind a loopback proxy that drops the ``Authorization`` header, so each
fallback is verified (HMAC, with replay protection) by the sandbox itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tca_gate import (
    AuthenticationError,
    InvalidArgumentError,
    PermissionDeniedError,
    ServerError,
)
from tca_gate.signing.tokenly._scheme import NONCE_HEADER, SIGNATURE_HEADER
from tca_gate.tokenpass import AsyncTokenpassClient, TokenpassClient
from tests.support.sandboxes import TEST_SEED, Sandbox, running_sandbox
from tests.support.servers import serve
from tests.support.tokenpass_calls import DANA_PUBLIC, Calls

BASE = "https://tokenpass.example"
MISSING = {"error": "oauth_token is required", "field": "oauth_token"}
PASSING = [("TOKENLY", "1")]


@dataclass(frozen=True)
class Seen:
    """A request as the proxy received it."""

    method: str
    path: str
    query: str
    body: bytes
    authorization: str | None


def parameter_only(target: str, seen: list[Seen]) -> Starlette:
    """The sandbox at ``target`` as a server that reads no ``Authorization`` header."""

    async def forward(request: Request) -> Response:
        body = await request.body()
        seen.append(
            Seen(
                request.method,
                request.url.path,
                request.url.query,
                body,
                request.headers.get("authorization"),
            )
        )
        headers = {
            name: value
            for name, value in request.headers.items()
            if name not in {"authorization", "content-length", "connection"}
        }
        raw_path = request.scope["raw_path"].decode("latin-1")
        query = f"?{request.url.query}" if request.url.query else ""
        async with httpx2.AsyncClient() as client:
            answer = await client.request(
                request.method, f"{target}{raw_path}{query}", headers=headers, content=body
            )
        return Response(answer.content, answer.status_code, media_type="application/json")

    methods = ["GET", "POST", "PATCH", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)])


@contextlib.contextmanager
def behind_parameter_only_proxy(
    *, replay_protection: bool = False
) -> Iterator[tuple[Sandbox, str, list[Seen]]]:
    seen: list[Seen] = []
    with (
        running_sandbox(TEST_SEED, replay_protection=replay_protection) as sandbox,
        serve(parameter_only(sandbox.url, seen)) as url,
    ):
        yield sandbox, url, seen


@contextlib.asynccontextmanager
async def opened(flavor: str, url: str, sandbox: Sandbox, **options: Any) -> Any:
    """A client of ``flavor`` whose every method is awaited (as the scenarios' ``Calls``)."""
    if flavor == "sync":
        with TokenpassClient(url, sandbox.client_id, sandbox.client_secret, **options) as client:
            yield Calls(client, [])
    else:
        async with AsyncTokenpassClient(
            url, sandbox.client_id, sandbox.client_secret, **options
        ) as aclient:
            yield Calls(aclient, [])


FLAVORS = pytest.mark.parametrize("flavor", ["sync", "async"])


@FLAVORS
def test_a_parameter_only_server_gets_the_parameter_after_one_refusal_and_ever_after(
    flavor: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Replay protection on: the fallback must not repeat a signature. (Two GETs of one
    # path within a second are signed alike, GET being signed over ``{}``, so each path
    # is asked once here.)
    caplog.set_level(logging.INFO, logger="tca_gate.tokenpass")
    with behind_parameter_only_proxy(replay_protection=True) as (sandbox, url, seen):
        token = sandbox.access_token("dana", ["tca", "manage-address"])

        async def run() -> None:
            async with opened(flavor, url, sandbox) as tp:
                updated = await tp.update_address_details(DANA_PUBLIC, token, label="renamed")
                assert updated.label == "renamed"
                assert await tp.check_token_access("dana", "TOKENLY=1", token)
                assert await tp.get_combined_public_balances(token)
            async with opened(flavor, url, sandbox) as fresh:
                assert len(await fresh.get_addresses_for_authenticated_user(token)) == 1

        asyncio.run(run())
    address, mine = f"/api/v1/tca/address/{DANA_PUBLIC}", "/api/v1/tca/addresses"
    assert [(s.method, s.path, s.authorization) for s in seen] == [
        ("PATCH", address, f"Bearer {token}"),
        ("PATCH", address, None),
        ("GET", "/api/v1/tca/check/dana", None),
        ("GET", "/api/v1/tca/public/balances", None),
        ("GET", mine, f"Bearer {token}"),
        ("GET", mine, None),
    ]
    assert [s.body for s in seen[:2]] == [
        b'{"label":"renamed"}',
        f'{{"label":"renamed","oauth_token":"{token}"}}'.encode(),
    ]
    assert [s.query for s in seen[2:]] == [
        f"TOKENLY=1&oauth_token={token}",
        f"oauth_token={token}",
        "",
        f"oauth_token={token}",
    ]
    switched = [r for r in caplog.records if r.name == "tca_gate.tokenpass"]
    assert len(switched) == 2  # once per client
    assert "from now on" in switched[0].getMessage()
    assert token not in caplog.text


class Script:
    """A stand-in server: answers in turn, recording each request."""

    def __init__(self, *answers: httpx2.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.answers.pop(0)


def scripted(script: Script, **options: Any) -> TokenpassClient:
    return TokenpassClient(
        BASE, "client-id", "client-secret", transport=httpx2.MockTransport(script), **options
    )


def test_a_token_missing_from_both_forms_is_refused_and_nothing_is_learned() -> None:
    script = Script(*(httpx2.Response(401, json=MISSING) for _ in range(4)))
    with scripted(script) as tokenpass:
        for _ in range(2):
            with pytest.raises(AuthenticationError) as refused:
                tokenpass.check_token_access("dana", "TOKENLY=1", "the-token")
            assert refused.value.field == "oauth_token"
    sent = [
        (r.headers.get("authorization"), r.url.params.get("oauth_token")) for r in script.requests
    ]
    assert sent == [("Bearer the-token", None), (None, "the-token")] * 2
    assert "the-token" not in str(refused.value) + repr(vars(refused.value))


@pytest.mark.parametrize(
    "answer",
    [
        httpx2.Response(401, json=MISSING),
        httpx2.Response(403, json={"error": "Invalid user oauth token", "result": False}),
        httpx2.Response(422, json={"message": "The oauth token field is required.",
                                  "errors": {"oauth_token": ["required"]}}),
        httpx2.Response(401, json={"error": "invalid_token",
                                  "error_description": "the access token is missing"}),
    ],
    ids=["sandbox", "tokenpass", "laravel-validation", "oauth"],
)  # fmt: skip
def test_answers_that_the_token_is_missing_bring_the_parameter(answer: httpx2.Response) -> None:
    script = Script(answer, httpx2.Response(200, json=[]), httpx2.Response(200, json=[]))
    with scripted(script) as tokenpass:
        assert tokenpass.get_combined_public_balances("the-token") == ()
        assert tokenpass.get_combined_public_balances("the-token") == ()
    assert [request.url.params.get("oauth_token") for request in script.requests] == [
        None,
        "the-token",
        "the-token",
    ]


@pytest.mark.parametrize(
    ("status", "answer", "error"),
    [
        (403, {"error": "the oauth_token lacks the 'tca' scope", "field": "oauth_token"},
         PermissionDeniedError),
        (403, {"error": "User does not have TCA scope applied for this client application"},
         PermissionDeniedError),
        (403, {"error": "the oauth_token was issued to another app", "field": "oauth_token"},
         PermissionDeniedError),
        (401, {"error": "the oauth_token is unknown or expired", "field": "oauth_token"},
         AuthenticationError),
        (401, {"message": "Unauthorized", "errors": ["signature is invalid"]},
         AuthenticationError),
    ],
)  # fmt: skip
def test_other_refusals_are_not_sent_again_with_the_parameter(
    status: int, answer: dict[str, Any], error: type[Exception]
) -> None:
    script = Script(httpx2.Response(status, json=answer))
    with scripted(script) as tokenpass, pytest.raises(error):
        tokenpass.get_combined_public_balances("the-token")
    [request] = script.requests
    assert request.headers["authorization"] == "Bearer the-token"


def test_a_busy_answer_to_the_parameter_teaches_nothing() -> None:
    script = Script(
        httpx2.Response(401, json=MISSING),
        httpx2.Response(503, json={"error": "down for a moment"}),
        httpx2.Response(200, json=[]),
    )
    with scripted(script, retries=0) as tokenpass:
        with pytest.raises(ServerError):
            tokenpass.get_combined_public_balances("the-token")
        assert tokenpass.get_combined_public_balances("the-token") == ()
    assert script.requests[2].headers["authorization"] == "Bearer the-token"


def test_the_fallback_is_signed_afresh_with_the_next_nonce() -> None:
    script = Script(httpx2.Response(401, json=MISSING), httpx2.Response(200, json={"result": True}))
    with scripted(script) as tokenpass:
        assert tokenpass.delete_address(DANA_PUBLIC, "the-token") is None
    first, second = script.requests
    assert first.url.params.get("oauth_token") is None
    assert second.url.params["oauth_token"] == "the-token"
    assert first.headers[SIGNATURE_HEADER] != second.headers[SIGNATURE_HEADER]
    assert int(second.headers[NONCE_HEADER]) > int(first.headers[NONCE_HEADER])


def test_unsigned_calls_fall_back_too() -> None:
    missing = {"error": "invalid_token", "error_description": "the access token is missing"}
    user = {"id": "u", "username": "a", "email": None, "name": None, "email_is_confirmed": True}
    script = Script(httpx2.Response(401, json=missing), httpx2.Response(200, json=user))
    with scripted(script) as tokenpass:
        assert tokenpass.get_oauth_user("the-token").username == "a"
    first, second = script.requests
    assert (first.headers["authorization"], second.url.params["access_token"]) == (
        "Bearer the-token",
        "the-token",
    )
    assert SIGNATURE_HEADER.lower() not in second.headers


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("two words", "visible ASCII"),
        ("line\nbreak", "visible ASCII"),
        ("tökén", "visible ASCII"),
        ("", "must be a non-empty string"),
    ],
)
def test_a_token_no_header_could_carry_is_refused_before_sending(token: str, message: str) -> None:
    script = Script()
    with scripted(script) as tokenpass, pytest.raises(InvalidArgumentError, match=message):
        tokenpass.get_combined_public_balances(token)
    assert script.requests == []


def test_bearer_must_be_true_or_false() -> None:
    with pytest.raises(InvalidArgumentError, match="bearer must be True or False"):
        TokenpassClient(BASE, "client-id", "client-secret", bearer="no")  # type: ignore[arg-type]


class Everything(logging.Handler):
    """Keeps every record that reaches it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)
        self.records.append(record)


@contextlib.contextmanager
def every_logger_at_debug() -> Iterator[Everything]:
    """Every logger of this process at DEBUG, each record kept (the loopback servers'
    uvicorn access log excepted: a server's own log, which a URL parameter reaches anyway)."""
    handler = Everything()
    root = logging.getLogger()
    names = [name for name in logging.root.manager.loggerDict if not name.startswith("uvicorn")]
    loggers = [root, *(logging.getLogger(name) for name in (*names, "httpx2", "httpcore2"))]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@FLAVORS
def test_no_log_record_of_any_logger_shows_the_token(flavor: str) -> None:
    with behind_parameter_only_proxy() as (sandbox, url, _):
        token = sandbox.access_token("dana", ["user", "tca", "manage-address"])

        async def run() -> None:
            async with opened(flavor, sandbox.url, sandbox, bearer=False) as tp:
                assert await tp.check_token_access("dana", "TOKENLY=1", token)
                assert await tp.get_addresses_for_authenticated_user(token)
                assert (await tp.get_oauth_user(token)).username == "dana"
            async with opened(flavor, url, sandbox) as falling_back:
                assert await falling_back.get_combined_public_balances(token)
                assert await falling_back.check_token_access("dana", "TOKENLY=1", token)

        with every_logger_at_debug() as logged:
            asyncio.run(run())
    lines = [record.getMessage() for record in logged.records]
    requests = [line for line in lines if line.startswith("HTTP Request:")]
    assert len(requests) >= 7
    assert any("oauth_token=[hidden]" in line for line in requests)
    assert any("access_token=[hidden]" in line for line in requests)
    assert any(record.name.startswith("httpcore2") for record in logged.records)
    shown = [
        record.name
        for record in logged.records
        if token in record.getMessage() or token in repr(vars(record))
    ]
    assert shown == []
