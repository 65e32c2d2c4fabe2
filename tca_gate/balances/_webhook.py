"""``BalanceWebhook``: a signed POST saying whose balances changed makes the cache forget them.

Tokenpass promises and Token Delivery events change what a holder has before any cache
expires; the service (or the sandbox) POSTs an event, signed with Tokenly HMAC auth as
API calls are, and the cache drops every answer for the holders it names. The body is
JSON (see ``docs/webhooks.md``)::

    {"event": "promise.created", "usernames": ["bob"], "addresses": ["1…"],
     "promise": {"source": "1…", "destination": "user:bob", …}}
"""

from __future__ import annotations

import json
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from tca_gate.errors import InvalidArgumentError, WebhookPayloadError, shorten
from tca_gate.observe import webhook
from tca_gate.signing.replay import AsyncReplayStore, ReplayStore, release
from tca_gate.signing.tokenly import DEFAULT_WINDOW, check_tokenly_signature, replayed
from tca_gate.signing.verifying import (
    RETRY_AFTER,
    Refusals,
    checked_max_body,
    claim_once,
    verify_request,
)
from tca_gate.wire.urls import signed_url

from ._cache_protocol import BalanceCache

#: The largest body accepted, in bytes.
DEFAULT_MAX_BODY = 64 * 1024
#: The most usernames and addresses one event may name, together.
MAX_HOLDERS = 1000

_EVENT = re.compile(r"(?:promise|delivery)\.[a-z][a-z_]{0,39}|balances\.changed")
_MAX_NAME = 128
_USER_PREFIX = "user:"


@dataclass(frozen=True, slots=True)
class BalanceEvent:
    """A webhook event read and checked: its name and the holders whose balances changed."""

    event: str
    usernames: tuple[str, ...]
    addresses: tuple[str, ...]


def read_event(document: object) -> BalanceEvent:
    """The event a webhook body describes; ``WebhookPayloadError`` naming the field at fault.

    >>> read_event({"event": "promise.created",
    ...             "promise": {"source": "1Src", "destination": "user:bob"}})
    BalanceEvent(event='promise.created', usernames=('bob',), addresses=('1Src',))
    >>> read_event({"event": "delivery.updated", "usernames": "bob"})
    Traceback (most recent call last):
    ...
    tca_gate.errors.WebhookPayloadError: usernames: must be a list of usernames
    """
    if not isinstance(document, Mapping):
        raise WebhookPayloadError("body", "must be a JSON object")
    event = document.get("event")
    if not isinstance(event, str) or not _EVENT.fullmatch(event):
        raise WebhookPayloadError(
            "event",
            "must be promise.<action>, delivery.<action> or balances.changed, "
            f"not {shorten(repr(event))}",
        )
    usernames = _names(document, "usernames", "usernames")
    addresses = _names(document, "addresses", "addresses")
    for part in ("promise", "delivery"):
        if document.get(part) is None:
            continue
        found = document[part]
        if not isinstance(found, Mapping):
            raise WebhookPayloadError(part, "must be an object")
        ends = ("source", "destination") if part == "promise" else ("destination",)
        for end in ends:
            holder = found.get(end)
            if holder is None:
                continue
            where = f"{part}.{end}"
            if not isinstance(holder, str):
                raise WebhookPayloadError(where, "must be an address or user:{username}")
            if holder.startswith(_USER_PREFIX):
                usernames.append(_name(holder.removeprefix(_USER_PREFIX), where))
            else:
                addresses.append(_name(holder, where))
    if not usernames and not addresses:
        raise WebhookPayloadError(
            "usernames",
            "the event names no holder: give usernames, addresses, a promise or a delivery",
        )
    if len(usernames) + len(addresses) > MAX_HOLDERS:
        raise WebhookPayloadError("usernames", f"an event may name at most {MAX_HOLDERS} holders")
    return BalanceEvent(event, tuple(dict.fromkeys(usernames)), tuple(dict.fromkeys(addresses)))


def _names(document: Mapping[str, Any], key: str, what: str) -> list[str]:
    found = document.get(key)
    if found is None:
        return []
    if not isinstance(found, list):
        raise WebhookPayloadError(key, f"must be a list of {what}")
    if len(found) > MAX_HOLDERS:
        raise WebhookPayloadError(key, f"an event may name at most {MAX_HOLDERS} holders")
    return [_name(name, f"{key}[{index}]") for index, name in enumerate(found)]


def _name(value: object, where: str) -> str:
    if (
        not isinstance(value, str)
        or not value
        or len(value) > _MAX_NAME
        or value.strip() != value
        or any(character.isspace() for character in value)
    ):
        raise WebhookPayloadError(
            where, f"must be a name without spaces, 1 to {_MAX_NAME} characters"
        )
    try:
        value.encode()
    except UnicodeEncodeError:
        raise WebhookPayloadError(where, "is not valid Unicode text") from None
    return value


class WebhookEvent(Protocol):
    """What a webhook event read from its body says: its name and whose balances changed."""

    @property
    def event(self) -> str: ...
    @property
    def usernames(self) -> tuple[str, ...]: ...
    @property
    def addresses(self) -> tuple[str, ...]: ...


E = TypeVar("E", bound=WebhookEvent)


class SignedWebhook(ABC, Generic[E]):
    """An ASGI endpoint (POST only) for JSON events signed with Tokenly HMAC, as Tokenpass
    and Token Delivery send them: each accepted event is ``read``, ``cache`` (when given)
    forgets the holders it names, and ``accepted`` says what to answer.

    Each request must carry Tokenly HMAC auth made with ``api_token`` and ``api_secret``
    (nonce within ``window`` seconds of ``clock``; with a ``replay_store``, each signed
    request is accepted once, unless the cache or ``accepted`` fails: then the claim is
    given back, so the sender can send the same event again), checked by the verifying
    flow before the body is read for anything else. Behind a proxy pass ``public_url``,
    the scheme and host the sender signs.

    Answers: 200 with ``accepted``'s JSON; 401 ``{"error": reason, "message"}`` for auth;
    400 ``{"error": "malformed-body", "field", "message"}`` for a body that is not JSON or
    that ``read`` refuses; 405 for other methods; 413 for a body over ``max_body``; 503
    with ``Retry-After`` when the cache (or the replay store) fails. No answer shows the
    secret or what a signature should be.
    """

    #: Where refusals (WARNING) and events (INFO) are logged.
    logger: ClassVar[logging.Logger]

    def __init__(
        self,
        cache: BalanceCache | None,
        *,
        api_token: str,
        api_secret: str,
        replay_store: ReplayStore | AsyncReplayStore | None = None,
        clock: Callable[[], float] = time.time,
        window: float = DEFAULT_WINDOW,
        public_url: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        for name, value in (("api_token", api_token), ("api_secret", api_secret)):
            if not isinstance(value, str) or not value:
                raise InvalidArgumentError(f"{name} must be a non-empty string")
        self.cache = cache
        self.api_token = api_token
        self._secrets = {api_token: api_secret}
        self.replay_store = replay_store
        self.clock = clock
        self.window = window
        self.public_url = public_url.rstrip("/") if public_url else None
        self.max_body = checked_max_body(max_body)
        self._refusals = Refusals(post_only="use POST", logger=self.logger)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.cache!r}, api_token={self.api_token!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            return
        verify = partial(self._verify, scope)
        verified = await verify_request(
            scope, receive, send, verify, max_body=self.max_body, refusals=self._refusals
        )
        if verified is None:
            webhook(type(self).__name__, "", "refused")
        else:
            (body, claimed), onward = verified
            answer = await self._answer(body, claimed)
            await answer(scope, onward, send)

    @abstractmethod
    def read(self, document: object) -> E:
        """The event a JSON body describes; ``WebhookPayloadError`` naming the field at fault."""

    @abstractmethod
    async def accepted(self, event: E, forgotten: int) -> Mapping[str, Any]:
        """The JSON answer to ``event`` once the cache dropped ``forgotten`` answers."""

    async def _verify(self, scope: Scope, body: bytes) -> tuple[bytes, str]:
        """The body and the request's replay key, once the signature and the claim hold."""
        signed = check_tokenly_signature(
            "POST",
            signed_url(scope, self.public_url),
            Headers(scope=scope),
            secret_for=self._secrets,
            body=body,
            query=scope.get("query_string"),
            now=self.clock(),
            window=self.window,
        )
        await claim_once(self.replay_store, signed.replay_key, 2 * self.window, replayed)
        return body, signed.replay_key

    async def _answer(self, body: bytes, claimed: str) -> JSONResponse:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return self._malformed(WebhookPayloadError("body", "is not JSON"))
        try:
            event = self.read(document)
        except WebhookPayloadError as error:
            return self._malformed(error)
        forgotten = 0
        if self.cache is not None:
            try:
                forgotten = await self.cache.forget(
                    usernames=event.usernames, addresses=event.addresses
                )
            except Exception as error:
                self.logger.warning(
                    "%s: the cache could not forget (%s)",
                    event.event,
                    type(error).__name__,
                    exc_info=True,
                )
                await self._give_back(claimed)
                webhook(type(self).__name__, event.event, "unavailable")
                message = "the balance cache could not forget the holders; send the event again"
                return JSONResponse(
                    {"error": "cache-unavailable", "message": message},
                    503,
                    headers={"Retry-After": str(RETRY_AFTER)},
                )
        try:
            answer = JSONResponse(await self.accepted(event, forgotten))
        except Exception:
            webhook(type(self).__name__, event.event, "failed")
            await self._give_back(claimed)
            raise
        webhook(type(self).__name__, event.event, "accepted")
        return answer

    def _malformed(self, error: WebhookPayloadError) -> JSONResponse:
        """The 400 for a body ``read`` refuses, reported as a malformed event."""
        webhook(type(self).__name__, "", "malformed")
        return _malformed(error)

    async def _give_back(self, claimed: str) -> None:
        """Release the replay claim of a request whose work failed, so the same signed
        event, sent again within its window, is accepted rather than refused as a replay."""
        if self.replay_store is not None:
            await release(self.replay_store, claimed)


class BalanceWebhook(SignedWebhook[BalanceEvent]):
    """An ASGI endpoint (POST only) that makes ``cache`` forget the holders an event names.

    Mount it where the service sends its webhooks, e.g.
    ``Route("/hooks/balances", BalanceWebhook(cache, api_token=..., api_secret=...))``.
    Answers 200 ``{"event", "forgotten": n}``, and refuses as every ``SignedWebhook``
    does (401 auth, 400 body, 405, 413, 503 with ``Retry-After``).
    """

    logger = logging.getLogger("tca_gate.webhook")

    def read(self, document: object) -> BalanceEvent:
        return read_event(document)

    async def accepted(self, event: BalanceEvent, forgotten: int) -> Mapping[str, Any]:
        self.logger.info(
            "balance webhook %s: %d usernames, %d addresses, %d answers forgotten",
            event.event,
            len(event.usernames),
            len(event.addresses),
            forgotten,
        )
        return {"event": event.event, "forgotten": forgotten}


def _malformed(error: WebhookPayloadError) -> JSONResponse:
    return JSONResponse(
        {"error": "malformed-body", "field": error.field, "message": str(error)}, 400
    )
