"""The one flow of every endpoint that verifies signed requests: read the body within a
limit, let the scheme verify it (claiming it once in a replay store), then hand the request
on with its body, or refuse it in JSON: 401 with the scheme's reason, 405 for a method not
taken, 413 for a body over the limit, 503 with ``Retry-After`` when the store fails.

``VerifyingMiddleware`` runs the flow in front of an app (each scheme's middleware is one);
``verify_request`` runs it for a single endpoint (the balance and delivery webhooks).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from tca_gate.errors import InvalidArgumentError, ReplayStoreUnavailableError, SignatureError
from tca_gate.observe import refused
from tca_gate.signing.replay import AsyncReplayStore, ReplayStore, claim
from tca_gate.wire.asgi import DEFAULT_MAX_BODY, read_body, replay_body, respond_json, route_path

T = TypeVar("T")

#: What ``Retry-After`` says when the replay store cannot be reached, in seconds.
RETRY_AFTER = 5


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused request: its status, reason code and message, the signature error behind
    a 401 (None for the flow's own 405, 413 and 503), and headers the answer carries."""

    status: int
    reason: str
    message: str
    error: SignatureError | None = None
    headers: Mapping[str, str] | None = None


def error_and_message(refusal: Refusal) -> dict[str, Any]:
    """``{"error": reason, "message": message}``: how most verifiers word a refusal."""
    return {"error": refusal.reason, "message": refusal.message}


@dataclass(frozen=True, slots=True)
class Refusals:
    """How one verifier words the flow's refusals: the JSON ``body`` of each, the ``store``
    a 503 names (``"replay store"``: ``replay-store-unavailable``), the message of the 405
    answered to anything but a POST (None: every method is verified), and a ``logger``
    recording each refusal's status and reason at WARNING (None: not logged)."""

    body: Callable[[Refusal], Mapping[str, Any]] = error_and_message
    store: str = "replay store"
    post_only: str | None = None
    logger: logging.Logger | None = None


async def verify_request(
    scope: Scope,
    receive: Receive,
    send: Send,
    verify: Callable[[bytes], Awaitable[T]],
    *,
    max_body: int | None = DEFAULT_MAX_BODY,
    refusals: Refusals = Refusals(),
) -> tuple[T, Receive] | None:
    """The flow for one HTTP request: what ``verify(body)`` returned and a ``receive``
    that hands the body on as if unread; or None once the refusal is answered.

    ``verify`` is the scheme's check, claims included: it raises ``SignatureError`` (401)
    or ``ReplayStoreUnavailableError`` (503). ``max_body`` None leaves the body unread
    (``verify`` gets ``b""``), for a scheme whose signature does not cover it.
    """
    outcome = await _verified(scope, receive, verify, max_body, refusals)
    if not isinstance(outcome, Refusal):
        return outcome
    refused(outcome.reason)
    if refusals.logger is not None:
        refusals.logger.warning("refused with %d: %s", outcome.status, outcome.reason)
    await respond_json(scope, send, outcome.status, refusals.body(outcome), outcome.headers)
    return None


async def _verified(
    scope: Scope,
    receive: Receive,
    verify: Callable[[bytes], Awaitable[T]],
    max_body: int | None,
    refusals: Refusals,
) -> tuple[T, Receive] | Refusal:
    if refusals.post_only is not None and scope["method"] != "POST":
        return Refusal(405, "method-not-allowed", refusals.post_only, headers={"Allow": "POST"})
    body, onward = b"", receive
    if max_body is not None:
        body, too_large = await read_body(receive, max_body)
        if too_large:
            return Refusal(413, "body-too-large", f"the request body is over {max_body} bytes")
        onward = replay_body(body, receive)
    try:
        return await verify(body), onward
    except SignatureError as error:
        return Refusal(401, error.reason, str(error), error)
    except ReplayStoreUnavailableError:
        reason = refusals.store.replace(" ", "-") + "-unavailable"
        message = f"the {refusals.store} cannot be reached"
        return Refusal(503, reason, message, headers={"Retry-After": str(RETRY_AFTER)})


def checked_max_body(max_body: object) -> int:
    """``max_body`` if it is a positive whole number of bytes; else ``InvalidArgumentError``
    (a verifier that read no body would hand the app one it never checked)."""
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body <= 0:
        raise InvalidArgumentError(f"max_body must be a positive number of bytes, not {max_body!r}")
    return max_body


async def claim_once(
    store: ReplayStore | AsyncReplayStore | None,
    key: str,
    ttl: float,
    replayed: Callable[[], SignatureError],
) -> None:
    """Claim ``key`` in ``store`` for ``ttl`` seconds (no store: nothing to claim); a key
    claimed before raises the scheme's ``replayed()`` error."""
    if store is not None and not await claim(store, key, ttl):
        raise replayed()


class VerifyingMiddleware(ABC, Generic[T]):
    """Pure ASGI: ``app`` sees only the HTTP requests ``verify`` accepts, with what it
    returned in ``scope["state"][state_key]`` (``request.state``) and the body as if unread.

    ``protect`` chooses the paths checked (all by default), judging the path the app
    routes: without the ``root_path`` a proxy or a Starlette ``Mount`` put before it.
    Subclasses name their ``state_key``, word their ``refusals`` and ``verify``.
    """

    state_key: ClassVar[str]
    refusals: ClassVar[Refusals] = Refusals()
    #: Whether the scheme signs the body (then ``max_body`` bounds what is read).
    reads_body: ClassVar[bool] = True

    def __init__(
        self,
        app: ASGIApp,
        *,
        protect: Callable[[str], bool] | None = None,
        max_body: int | None = DEFAULT_MAX_BODY,
    ) -> None:
        self.app = app
        self.protect = protect
        self.max_body = checked_max_body(max_body) if self.reads_body else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guarded = self.protect is None or self.protect(route_path(scope))
        if scope["type"] == "websocket" and guarded:
            # a handshake carries no body to sign: refused, never handed on unverified
            refused("signature-required")
            await send({"type": "websocket.close", "code": 1008, "reason": "signature-required"})
            return
        if scope["type"] != "http" or not guarded:
            await self.app(scope, receive, send)
            return
        verify = partial(self.verify, scope)
        verified = await verify_request(
            scope, receive, send, verify, max_body=self.max_body, refusals=self.refusals
        )
        if verified is None:
            return
        request, onward = verified
        if request is not None:
            scope.setdefault("state", {})[self.state_key] = request
        await self.app(scope, onward, send)

    @abstractmethod
    async def verify(self, scope: Scope, body: bytes) -> T:
        """The verified request (None: one the scheme lets in unsigned), or a
        ``SignatureError`` saying why not."""
