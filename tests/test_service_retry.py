"""Retries: idempotent calls only, on the failures that can pass, honouring ``Retry-After``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import stamina

from tca_gate._service import RetryPolicy, parse_retry_after
from tca_gate._service_errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ServiceError,
    ServiceUnavailableError,
)
from tca_gate._tokenly_hmac import NONCE_HEADER, SIGNATURE_HEADER
from tca_gate.tokenpass import AsyncTokenpassClient, TokenpassClient

BASE = "https://tokenpass.example"
Answer = httpx.Response | Exception


class Script:
    """A transport handler answering from a list (the last answer repeats), recording requests."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.headers: list[dict[str, str]] = []  # as each attempt was sent

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.headers.append(dict(request.headers))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(script: Script, retries: RetryPolicy | int = 3) -> TokenpassClient:
    return TokenpassClient(
        BASE, "id", "secret", retries=retries, transport=httpx.MockTransport(script)
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


def ok() -> httpx.Response:
    return httpx.Response(200, json={"result": []})


def busy(status: int = 503, retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(status, json={"error": "busy"}, headers=headers)


@pytest.mark.usefixtures("instant")
@pytest.mark.parametrize(
    "failure",
    [
        busy(500),
        busy(502),
        busy(503),
        busy(504),
        busy(429),
        httpx.ConnectError("down"),
        httpx.ReadTimeout("slow"),
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
    "failure", [busy(503), busy(429), httpx.ConnectError("down"), httpx.ReadTimeout("slow")]
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
    script = Script(busy(503), httpx.Response(200, json={"result": True}))
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


def test_retry_after_seconds_is_waited_exactly(waits: list[float]) -> None:
    script = Script(busy(429, "2"), busy(503, "1"), ok())
    with client(script) as tokenpass:
        tokenpass.get_public_addresses("alice")
    assert waits == [2.0, 1.0]


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
            AsyncTokenpassClient(BASE, "i", "s", transport=httpx.MockTransport(gets)) as one,
            AsyncTokenpassClient(BASE, "i", "s", transport=httpx.MockTransport(posts)) as two,
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
        (ServiceUnavailableError("x", service="S", method="GET", url="u"), True),
        (RateLimitError("x", service="S", method="GET", url="u", status=429), True),
        (RateLimitError("x", service="S", method="GET", url="u", status=429, retry_after=3), 3.0),
        (RateLimitError("x", service="S", method="GET", url="u", retry_after=31), False),
        (ServerError("x", service="S", method="GET", url="u", status=503, retry_after=0), 0.0),
        (ServerError("x", service="S", method="GET", url="u", status=505), False),
        (NotFoundError("x", service="S", method="GET", url="u", status=404), False),
        (ValueError("not ours"), False),
    ],
)
def test_the_backoff_decision(error: Exception, decision: bool | float) -> None:
    result = RetryPolicy(max_retry_after=30).backoff_for(error)
    assert (type(result), result) == (type(decision), decision)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retries": -1}, "retries must not be negative"),
        ({"wait_max": -1.0}, "wait_max must not be negative"),
        ({"timeout": 0}, "timeout must be positive"),
    ],
)
def test_a_bad_policy_is_refused(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**options)  # type: ignore[arg-type]


def test_retries_may_be_given_as_a_number() -> None:
    assert RetryPolicy.of(5) == RetryPolicy(retries=5)
    with pytest.raises(TypeError, match="retries must be an int"):
        RetryPolicy.of(True)
