"""Retries: idempotent calls only, on the failures that can pass, honouring ``Retry-After``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx2
import pytest
import stamina
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tca_gate import InvalidArgumentError
from tca_gate.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ServiceError,
    ServiceUnavailableError,
)
from tca_gate.service import RetryPolicy, parse_retry_after
from tca_gate.signing.tokenly._scheme import NONCE_HEADER, SIGNATURE_HEADER
from tca_gate.tokenpass import AsyncTokenpassClient, TokenpassClient
from tests.support.servers import serve

BASE = "https://tokenpass.example"
Answer = httpx2.Response | Exception


class Script:
    """A transport handler answering from a list (the last answer repeats), recording requests."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []
        self.headers: list[dict[str, str]] = []  # as each attempt was sent

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        self.headers.append(dict(request.headers))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(script: Script, retries: RetryPolicy | int = 3) -> TokenpassClient:
    return TokenpassClient(
        BASE, "id", "secret", retries=retries, transport=httpx2.MockTransport(script)
    )


@pytest.fixture
def instant() -> Iterator[None]:
    """No waiting between attempts; the policy's own attempt count still applies."""
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between attempts, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)
    return recorded


def ok() -> httpx2.Response:
    return httpx2.Response(200, json={"result": []})


def busy(status: int = 503, retry_after: str | None = None) -> httpx2.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx2.Response(status, json={"error": "busy"}, headers=headers)


@pytest.mark.usefixtures("instant")
@pytest.mark.parametrize(
    "failure",
    [
        busy(500),
        busy(502),
        busy(503),
        busy(504),
        busy(429),
        httpx2.ConnectError("down"),
        httpx2.ReadTimeout("slow"),
    ],
)
def test_a_get_is_retried_until_it_passes(failure: Answer) -> None:
    script = Script(failure, failure, ok())
    with client(script) as tokenpass:
        assert tokenpass.get_public_addresses("alice") == ()
    assert len(script.requests) == 3


@pytest.mark.usefixtures("instant")
def test_a_get_gives_up_after_its_retries_with_the_last_error() -> None:
    script = Script(busy(503))
    with client(script, retries=2) as tokenpass, pytest.raises(ServerError):
        tokenpass.get_public_addresses("alice")
    assert len(script.requests) == 3


@pytest.mark.usefixtures("instant")
@pytest.mark.parametrize(
    "failure", [busy(503), busy(429), httpx2.ConnectError("down"), httpx2.ReadTimeout("slow")]
)
def test_post_and_patch_are_never_retried(failure: Answer) -> None:
    script = Script(failure, ok())
    with client(script) as tokenpass:
        with pytest.raises(ServiceError):
            tokenpass.lookup_users_by_addresses(["1BoatSLRHtKNngkdXEeobR76b53LbtpyT"])
        with pytest.raises(ServiceError):
            tokenpass.update_promised_transaction(7, note="x")
    assert [request.method for request in script.requests] == ["POST", "PATCH"]


@pytest.mark.usefixtures("instant")
def test_a_delete_is_retried() -> None:
    script = Script(busy(503), httpx2.Response(200, json={"result": True}))
    with client(script) as tokenpass:
        tokenpass.delete_promised_transaction(7)
    assert [request.method for request in script.requests] == ["DELETE", "DELETE"]


@pytest.mark.usefixtures("instant")
@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (404, NotFoundError),
        (501, ServerError),
    ],
)
def test_answers_another_attempt_cannot_change_are_not_retried(
    status: int, error_class: type[ServiceError]
) -> None:
    script = Script(busy(status), ok())
    with client(script) as tokenpass, pytest.raises(error_class):
        tokenpass.get_public_addresses("alice")
    assert len(script.requests) == 1


@pytest.mark.usefixtures("instant")
def test_no_retries_when_the_policy_says_none() -> None:
    script = Script(busy(503), ok())
    with client(script, retries=0) as tokenpass, pytest.raises(ServerError):
        tokenpass.get_public_addresses("alice")
    assert len(script.requests) == 1


@pytest.mark.usefixtures("instant")
def test_every_attempt_is_signed_afresh_with_a_new_nonce() -> None:
    script = Script(busy(503), busy(503), ok())
    with client(script) as tokenpass:
        tokenpass.get_public_addresses("alice")
    nonces = [int(headers[NONCE_HEADER.lower()]) for headers in script.headers]
    assert nonces == sorted(set(nonces))  # strictly increasing, so no attempt is a replay
    assert len({headers[SIGNATURE_HEADER.lower()] for headers in script.headers}) == 3


def test_retry_after_seconds_is_waited_when_longer_than_the_backoff(waits: list[float]) -> None:
    script = Script(busy(429, "2"), busy(503, "1"), ok())
    with client(script) as tokenpass:
        tokenpass.get_public_addresses("alice")
    assert waits == [2.0, 1.0]


def test_retry_after_is_a_minimum_not_a_replacement_for_the_backoff(waits: list[float]) -> None:
    policy = RetryPolicy(wait_initial=1.5, wait_jitter=0)
    script = Script(busy(429, "0"), busy(503, "1"), ok())
    with client(script, policy) as tokenpass:
        tokenpass.get_public_addresses("alice")
    assert waits == [1.5, 3.0]


class Clock:
    """A monotonic clock that moves only when slept on (or when a test moves it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(time, "monotonic", fake.monotonic)
    monkeypatch.setattr(time, "sleep", fake.sleep)
    return fake


def test_no_wait_ends_past_the_deadline(clock: Clock) -> None:
    policy = RetryPolicy(retries=10, deadline=10)
    script = Script(busy(429, "4"))
    with client(script, policy) as tokenpass, pytest.raises(RateLimitError):
        tokenpass.get_public_addresses("alice")
    assert len(script.requests) == 3  # waited 4 s twice; a third wait would end at 12 s
    assert clock.now == 1008.0


def test_the_deadline_counts_the_time_spent_in_attempts(clock: Clock) -> None:
    def slow_then_busy(request: httpx2.Request) -> httpx2.Response:
        clock.now += 9.5
        return busy(503)

    policy = RetryPolicy(retries=10, deadline=10, wait_initial=1, wait_jitter=0)
    transport = httpx2.MockTransport(slow_then_busy)
    with (
        TokenpassClient(BASE, "id", "s", retries=policy, transport=transport) as tokenpass,
        pytest.raises(ServerError),
    ):
        tokenpass.get_public_addresses("alice")
    assert clock.now == 1009.5  # no wait at all: one more second would pass the deadline


def test_retry_after_as_an_http_date_is_waited_until(waits: list[float]) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=4), usegmt=True)
    script = Script(busy(429, when), ok())
    with client(script) as tokenpass:
        tokenpass.get_public_addresses("alice")
    [wait] = waits
    assert 2.0 <= wait <= 4.0


def test_without_retry_after_the_backoff_is_bounded_exponential(waits: list[float]) -> None:
    policy = RetryPolicy(retries=4, wait_initial=0.5, wait_max=2.0, wait_jitter=0.25)
    script = Script(busy(503))
    with client(script, policy) as tokenpass, pytest.raises(ServerError):
        tokenpass.get_public_addresses("alice")
    assert len(waits) == 4
    for number, wait in enumerate(waits):
        low = min(2.0, 0.5 * 2**number)
        assert low <= wait <= min(2.0, low + 0.25)


def test_a_retry_after_past_the_cap_is_raised_at_once(waits: list[float]) -> None:
    script = Script(busy(429, "120"), ok())
    with (
        client(script, RetryPolicy(max_retry_after=30)) as tokenpass,
        pytest.raises(RateLimitError) as raised,
    ):
        tokenpass.get_public_addresses("alice")
    assert (len(script.requests), waits) == (1, [])
    assert raised.value.retry_after == 120.0


def test_the_async_client_retries_gets_but_not_posts() -> None:
    async def run() -> tuple[list[str], list[str]]:
        gets, posts = Script(busy(503), busy(429), ok()), Script(busy(503), ok())
        async with (
            AsyncTokenpassClient(BASE, "i", "s", transport=httpx2.MockTransport(gets)) as one,
            AsyncTokenpassClient(BASE, "i", "s", transport=httpx2.MockTransport(posts)) as two,
        ):
            assert await one.get_public_addresses("alice") == ()
            with pytest.raises(ServerError):
                await two.register_account("bob", "pw", "bob@example.com")
        return [r.method for r in gets.requests], [r.method for r in posts.requests]

    with stamina.set_testing(True, attempts=100, cap=True):
        gets, posts = asyncio.run(run())
    assert (gets, posts) == (["GET"] * 3, ["POST"])


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("0", 0.0),
        (" 15 ", 15.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("9" * 400, float("inf")),
        ("-5", None),
        ("1.5", None),
        ("tomorrow", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_values(header: str | None, seconds: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == seconds


@pytest.mark.parametrize(
    ("error", "decision"),
    [
        (ServiceUnavailableError("x", service="S", method="GET", url="u"), [1.0, 2.0]),
        (RateLimitError("x", service="S", method="GET", url="u", status=429), [1.0, 2.0]),
        (RateLimitError("x", service="S", method="GET", url="u", retry_after=3), [3.0, 3.0]),
        (RateLimitError("x", service="S", method="GET", url="u", retry_after=31), None),
        (ServerError("x", service="S", method="GET", url="u", status=503, retry_after=0), [1, 2]),
        (ServerError("x", service="S", method="GET", url="u", status=505), None),
        (NotFoundError("x", service="S", method="GET", url="u", status=404), None),
        (ValueError("not ours"), None),
    ],
)
def test_the_wait_decision(error: Exception, decision: list[float | None] | None) -> None:
    policy = RetryPolicy(wait_initial=1, wait_jitter=0, max_retry_after=30)
    waits = [policy.wait_for(error, retry) for retry in (1, 2)]
    assert waits == (decision or [None, None])


def test_the_backoff_doubles_up_to_its_cap_without_overflowing() -> None:
    policy = RetryPolicy(wait_initial=0.5, wait_max=3, wait_jitter=0)
    assert [policy.backoff(retry) for retry in (1, 2, 3, 4, 10_000)] == [0.5, 1, 2, 3, 3]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retries": -1}, "retries must not be negative"),
        ({"wait_max": -1.0}, "wait_max must not be negative"),
        ({"deadline": 0}, "deadline must be positive"),
        ({"deadline": float("nan")}, "deadline must be positive"),
    ],
)
def test_a_bad_policy_is_refused(options: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        RetryPolicy(**options)  # type: ignore[arg-type]


def test_retries_may_be_given_as_a_number() -> None:
    assert RetryPolicy.of(5) == RetryPolicy(retries=5)
    with pytest.raises(InvalidArgumentError, match="retries must be an int"):
        RetryPolicy.of(True)


@pytest.mark.usefixtures("instant")
@pytest.mark.parametrize(
    "name", ["delete_address", "delete_provisional_source", "delete_promised_transaction"]
)
def test_a_retried_delete_that_finds_it_gone_is_done(name: str) -> None:
    args = {
        "delete_address": ("1BoatSLRHtKNngkdXEeobR76b53LbtpyT", "oauth-token"),
        "delete_provisional_source": ("1BoatSLRHtKNngkdXEeobR76b53LbtpyT",),
        "delete_promised_transaction": (7,),
    }[name]
    gone = httpx2.Response(404, json={"error": "not found"})
    script = Script(httpx2.ReadTimeout("the answer was lost"), gone)
    with client(script) as tokenpass:
        assert getattr(tokenpass, name)(*args) is None
        assert len(script.requests) == 2
        with pytest.raises(NotFoundError):  # a first attempt's 404 is still an error
            getattr(tokenpass, name)(*args)


@pytest.mark.usefixtures("instant")
def test_a_retried_get_that_finds_nothing_is_not_found() -> None:
    script = Script(busy(503), httpx2.Response(404, json={"error": "no such user"}))
    with client(script) as tokenpass, pytest.raises(NotFoundError):
        tokenpass.get_public_addresses("alice")


@pytest.mark.usefixtures("instant")
def test_the_retry_log_shows_no_url_token_or_parameter(caplog: pytest.LogCaptureFixture) -> None:
    script = Script(busy(503), ok())
    with client(script) as tokenpass, caplog.at_level(logging.WARNING, logger="stamina"):
        tokenpass.get_addresses_for_authenticated_user("the-users-oauth-token")
    [record] = [r for r in caplog.records if r.getMessage() == "stamina.retry_scheduled"]
    logged = repr(vars(record))
    assert "the-users-oauth-token" not in logged
    assert "tokenpass.example" not in logged


class Tracked(httpx2.AsyncByteStream):
    """A response body that tells its transport when it is closed."""

    def __init__(self, stream: httpx2.AsyncByteStream, transport: CountingTransport) -> None:
        self.stream, self.transport = stream, transport

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.stream:
            yield chunk

    async def aclose(self) -> None:
        await self.stream.aclose()
        self.transport.open_responses -= 1


class CountingTransport(httpx2.AsyncBaseTransport):
    """A real HTTP transport counting the responses not yet closed."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.open_responses = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        self.open_responses += 1
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=Tracked(response.stream, self),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_cancelling_during_a_retry_after_wait_stops_at_once_and_frees_the_connection() -> None:
    hits: list[str] = []

    async def slow_down(request: Request) -> JSONResponse:
        hits.append(request.url.path)
        return JSONResponse({"error": "slow down"}, status_code=429, headers={"Retry-After": "20"})

    async def run(base_url: str) -> tuple[float, int]:
        transport = CountingTransport()
        async with AsyncTokenpassClient(base_url, "i", "s", transport=transport) as tokenpass:
            task = asyncio.create_task(tokenpass.get_public_addresses("alice"))
            while not hits:
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.05)  # now in the 20 s wait
            cancelled_at = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return time.monotonic() - cancelled_at, transport.open_responses

    app = Starlette(routes=[Route("/api/v1/tca/addresses/{username}", slow_down)])
    with serve(app) as base_url:
        took, open_responses = asyncio.run(run(base_url))
    assert took < 1.0
    assert (hits, open_responses) == (["/api/v1/tca/addresses/alice"], 0)
