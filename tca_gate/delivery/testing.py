"""``DeliveryEmulator``: a small Token Delivery Service for tests and examples (a Starlette app).

It answers every documented call with the document's shapes, keeps source addresses
and deliveries in memory, and checks every request with ``TokenlyAuthMiddleware``
(the same verifier an app uses), refusing as Tokenly's servers did: 403
``{"message": ..., "errors": [...]}``. Deliveries with a ``delivery_date`` become ready
when the emulator's ``clock`` reaches it, and are sent at once from a source address
that fulfils automatically. ``fund`` gives a source address inventory;
``fail_next(status)`` makes the next request answer that error code; ``running()``
serves it on loopback (needs uvicorn, as in the ``sandbox`` extra)::

    >>> from tca_gate.delivery import DeliveryClient
    >>> emulator = DeliveryEmulator({"my-token": "my-secret"})
    >>> with emulator.running() as url, DeliveryClient(url, "my-token", "my-secret") as tds:
    ...     source = tds.new_source_address("Game Fountain", "2:2")
    ...     emulator.fund(source.id, "SOUP", 10_00000000)
    ...     sent = tds.new_delivery(source.id, "user:bob", "SOUP", 5_00000000)
    ...     print(sent.quantity, sent.state.name, tds.get_source_address(source.id).balances)
    500000000 PENDING {'SOUP': 1000000000}
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from tca_gate.signing.replay import ReplayStore
from tca_gate.signing.tokenly import TokenlyAuthMiddleware
from tca_gate.wire.asgi import respond_json

_STAMP = "%Y-%m-%dT%H:%M:%S+0000"
_ADDRESS_TYPES = ("2:2", "2:3")
_MESSAGES = {
    400: "The data contained a syntax error or was invalid",
    403: "The credentials are wrong or missing",
    404: "The resource is not found",
    405: "Method Not Allowed",
    422: "The data was valid, but violated one or more validation rules",
    429: "Too Many Requests",
    500: "We had a problem with our server. Try again later.",
    503: "We're temporarily offline for maintenance. Please try again later.",
}

Handler = Callable[[Request], Awaitable[Response]]


class RefusalError(Exception):
    """An error answer: ``status`` and what it says (each message names the field at fault)."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message or _MESSAGES.get(status, "refused"))
        self.status = status

    def response(self) -> JSONResponse:
        """The answer as Tokenly's servers gave it (laravel-api-provider's
        ``newJsonResponseWithErrors``): the message, and ``errors`` a flat list of messages."""
        headers = {"Retry-After": "1"} if self.status in (429, 503) else None
        return JSONResponse(_refusal_body(str(self)), self.status, headers=headers)


def _refusal_body(message: str) -> dict[str, Any]:
    """``{"message": message, "errors": [message]}``."""
    return {"message": message, "errors": [message]}


class DeliveryEmulator:
    """The Token Delivery Service in memory, for the API users in ``secrets`` (token → secret).

    Every request is checked by ``TokenlyAuthMiddleware``; a refused one is answered
    403 ``{"message": ..., "errors": [...]}`` (the verifier's words, which say which
    check failed). Like the real service it keeps no replay store unless given one
    (Tokenly nonces are whole seconds, so a store refuses the same call made twice
    within a second). ``clock`` is the emulator's time in unix seconds, for delivery
    dates and timestamps (signatures are checked against the real time, which clients
    sign with). Each API user sees only its own source addresses and deliveries
    (others' are 404). ``sweeps`` records where each shut-down source address was swept
    (``None``: the API user's backup address).
    """

    def __init__(
        self,
        secrets: Mapping[str, str],
        *,
        window: float = 300,
        replay_store: ReplayStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secrets = dict(secrets)
        self.clock = clock
        self.sources: dict[str, dict[str, Any]] = {}
        self.deliveries: dict[str, dict[str, Any]] = {}
        self.issuances: dict[str, dict[str, Any]] = {}
        self.inventory: dict[str, dict[str, int]] = {}
        self.owners: dict[str, str] = {}
        self.sweeps: dict[str, str | None] = {}
        self.faults: list[int] = []
        self._triggered: set[str] = set()
        self._lock = threading.Lock()
        self._app = TokenlyAuthMiddleware(
            self._routes(),
            secret_for=self.secrets,
            window=window,
            replay_store=replay_store,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        await self._app(scope, receive, _credentials_forbidden(scope, send))

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """Serve on a free loopback port (needs uvicorn); yields the base URL."""
        from tca_gate.wire.serving import BackgroundServer  # noqa: PLC0415 (needs uvicorn)

        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        with BackgroundServer(self, listener, name="the Token Delivery emulator", lifespan="off"):
            yield f"http://127.0.0.1:{listener.getsockname()[1]}"

    # -- controls for tests ---------------------------------------------------------------

    def fund(self, source_id: str, token: str, quantity: int) -> None:
        """Give a source address ``quantity`` satoshis of ``token`` (confirmed)."""
        with self._lock:
            self.inventory.setdefault(source_id, {})[token] = quantity

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests (once signed) with these error codes, in order."""
        with self._lock:
            self.faults.extend(statuses)

    def notification(self, event: str, delivery_id: str) -> dict[str, Any]:
        """The webhook body announcing ``event`` for a delivery."""
        return {"event": event, "delivery": dict(self.deliveries[delivery_id])}

    # -- routing --------------------------------------------------------------------------

    def _routes(self) -> Starlette:
        wrap = self._guarded
        return Starlette(
            routes=[
                Route("/api/v1/source", wrap(self._new_source), methods=["POST"]),
                Route("/api/v1/source", wrap(self._source_list), methods=["GET"]),
                Route("/api/v1/source/{id}", wrap(self._get_source), methods=["GET"]),
                Route("/api/v1/source/{id}", wrap(self._update_source), methods=["PATCH"]),
                Route("/api/v1/source/{id}", wrap(self._shutdown_source), methods=["DELETE"]),
                Route("/api/v1/delivery", wrap(self._new_delivery), methods=["POST"]),
                Route("/api/v1/delivery", wrap(self._delivery_list), methods=["GET"]),
                Route("/api/v1/delivery/{id}", wrap(self._get_delivery), methods=["GET"]),
                Route("/api/v1/delivery/{id}", wrap(self._update_delivery), methods=["PATCH"]),
                Route("/api/v1/delivery/{id}", wrap(self._cancel_delivery), methods=["DELETE"]),
                Route("/api/v1/fulfillment/single/{id}", wrap(self._fulfill_one), methods=["POST"]),
                Route(
                    "/api/v1/fulfillment/multiple/{id}",
                    wrap(self._fulfill_many),
                    methods=["POST"],
                ),
                Route("/api/v1/issuance/{id}", wrap(self._issue), methods=["POST"]),
            ],
            exception_handlers={HTTPException: _http_error},  # type: ignore[dict-item]
        )

    def _guarded(self, handler: Callable[[Request, str], Response]) -> Handler:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            with self._lock:
                try:
                    if self.faults:
                        raise RefusalError(self.faults.pop(0))
                    self._release_due()
                    request.state.json = _object(body) if body else {}
                    return handler(request, request.state.tokenly.api_token)
                except RefusalError as refusal:
                    return refusal.response()

        return endpoint

    def _stamp(self) -> str:
        """The emulator's current time as the service writes times."""
        return datetime.fromtimestamp(self.clock(), UTC).strftime(_STAMP)

    def _release_due(self) -> None:
        """Deliveries whose ``delivery_date`` has come become ready (once: marking one
        unready again sticks), and are sent when their source address fulfils
        automatically. An inactive source address waits; pseudo deliveries stay promises."""
        now = self.clock()
        for delivery_id, delivery in self.deliveries.items():
            date = delivery["deliveryDate"]
            if delivery_id in self._triggered or date is None or delivery["pseudo"]:
                continue
            source = self.sources.get(delivery["sourceUuid"])
            if _seconds(date) > now or source is None or not source["active"]:
                continue
            self._triggered.add(delivery_id)
            if delivery["state"] != 0:
                continue
            delivery["state"] = 1
            delivery["updatedAt"] = self._stamp()
            if source["autoFulfill"]:
                self._send(delivery)

    # -- source addresses -----------------------------------------------------------------

    def _own(self, table: dict[str, dict[str, Any]], key: str, owner: str) -> dict[str, Any]:
        found = table.get(key)
        if found is None or self.owners.get(key) != owner:
            raise RefusalError(404)
        return found

    def _source_for(self, key: str, owner: str) -> dict[str, Any]:
        """A source address by UUID or by its bitcoin address."""
        for source_id, source in self.sources.items():
            if source["address"] == key and self.owners.get(source_id) == owner:
                return source
        return self._own(self.sources, key, owner)

    def _new_source(self, request: Request, owner: str) -> Response:
        body = request.state.json
        kind = body.get("type", "2:3")
        if kind not in _ADDRESS_TYPES:
            raise RefusalError(422, "The type must be 2:2 or 2:3.")
        source_id = str(uuid.uuid4())
        stamp = self._stamp()
        source = {
            "id": source_id,
            "joinCode": "F" + uuid.uuid4().hex * 2,
            "joinCallback": _text(body, "join_callback"),
            "webhook": _text(body, "webhook"),
            "address": None,
            "complete": False,
            "label": _text(body, "label"),
            "type": kind,
            "autoFulfill": _flag(body, "auto_fulfill", default=True),
            "active": _flag(body, "active", default=True),
            "createdAt": stamp,
            "updatedAt": stamp,
            "desiredUtxoPrimes": _count(body, "desired_utxo_primes", default=12),
        }
        self.sources[source_id] = source
        self.owners[source_id] = owner
        return JSONResponse(source)

    def _pending(self, source_id: str, *, besides: str | None = None) -> dict[str, int]:
        """``{token: satoshis}`` the source address's incomplete deliveries (all but
        ``besides``) promise."""
        pending: dict[str, int] = {}
        for delivery_id, delivery in self.deliveries.items():
            if (
                delivery["sourceUuid"] == source_id
                and not delivery["complete"]
                and delivery_id != besides
            ):
                token = delivery["token"]
                pending[token] = pending.get(token, 0) + int(delivery["quantity"])
        return pending

    def _check_inventory(
        self, source_id: str, token: str, quantity: int, *, besides: str | None = None
    ) -> None:
        """Refuse (422) a quantity of ``token`` the source address does not hold beyond
        what its other deliveries promise."""
        held = self.inventory.get(source_id, {}).get(token, 0)
        if quantity > held - self._pending(source_id, besides=besides).get(token, 0):
            raise RefusalError(
                422, f"The source address does not hold enough {token} for this quantity."
            )

    def _details(self, source: dict[str, Any]) -> dict[str, Any]:
        held = self.inventory.get(source["id"], {})
        pending = self._pending(source["id"])
        available = {token: held[token] - pending.get(token, 0) for token in held}
        return {
            **source,
            "balances": dict(held) or [],
            "availableBalances": available or [],
            "unconfirmedBalances": [],
            "pendingDeliveries": pending or [],
        }

    def _source_list(self, request: Request, owner: str) -> Response:
        mine = [s for key, s in self.sources.items() if self.owners[key] == owner]
        return JSONResponse({"count": len(mine), "items": mine})

    def _get_source(self, request: Request, owner: str) -> Response:
        return JSONResponse(
            self._details(self._own(self.sources, request.path_params["id"], owner))
        )

    def _update_source(self, request: Request, owner: str) -> Response:
        source = self._own(self.sources, request.path_params["id"], owner)
        body = request.state.json
        for name, key in (("label", "label"), ("join_callback", "joinCallback")):
            if name in body:
                source[key] = _text(body, name)
        if "webhook" in body:
            source["webhook"] = _text(body, "webhook")
        for name, key in (("auto_fulfill", "autoFulfill"), ("active", "active")):
            if name in body:
                source[key] = _flag(body, name, default=False)
        if "desired_utxo_primes" in body:
            source["desiredUtxoPrimes"] = _count(body, "desired_utxo_primes", default=0)
        source["updatedAt"] = self._stamp()
        return JSONResponse(self._details(source))

    def _shutdown_source(self, request: Request, owner: str) -> Response:
        """Shut down a source address, sweeping it to ``sweep_address``: in the query, as
        the official client sends it, or in a JSON body, as the document's example does."""
        source = self._own(self.sources, request.path_params["id"], owner)
        in_query = request.query_params.get("sweep_address")
        in_body = _text(request.state.json, "sweep_address")
        if in_query is not None and in_body is not None and in_query != in_body:
            raise RefusalError(400, "The sweep_address differs between the query and the body.")
        sweep = in_query if in_query is not None else in_body
        if sweep is not None and not sweep.strip():
            raise RefusalError(422, "The sweep_address must not be empty.")
        if any(
            d["sourceUuid"] == source["id"] and not d["complete"] for d in self.deliveries.values()
        ):
            raise RefusalError(422, "The source address has pending deliveries: cancel them first.")
        del self.sources[source["id"]]
        self.inventory.pop(source["id"], None)
        self.sweeps[source["id"]] = sweep
        return JSONResponse({"result": True})

    # -- deliveries -----------------------------------------------------------------------

    def _new_delivery(self, request: Request, owner: str) -> Response:
        body = request.state.json
        source = self._source_for(_required(body, "source"), owner)
        destination = _required(body, "destination")
        token = _required(body, "token")
        quantity = _quantity(body)
        pseudo = _flag(body, "pseudo", default=False)
        hold = _flag(body, "hold_promise", default=False)
        date = _date(body.get("delivery_date"))
        if destination.startswith("user:") and (hold or date is not None):
            raise RefusalError(
                422,
                "The hold_promise and delivery_date are not allowed for deliveries to usernames.",
            )
        if not pseudo:
            self._check_inventory(source["id"], token, quantity)
        delivery_id = str(uuid.uuid4())
        stamp = self._stamp()
        delivery = {
            "id": delivery_id,
            "sourceUuid": source["id"],
            "destination": destination,
            "token": token,
            "quantity": quantity,
            "deliveryDate": date,
            "refData": _text(body, "ref_data"),
            "pseudo": pseudo,
            "holdPromise": hold,
            "state": 0,
            "complete": False,
            "deliveryTx": None,
            "updatedAt": stamp,
            "createdAt": stamp,
        }
        self.deliveries[delivery_id] = delivery
        self.owners[delivery_id] = owner
        self._release_due()
        return JSONResponse(delivery)

    def _delivery_list(self, request: Request, owner: str) -> Response:
        query = request.query_params
        show_complete = query.get("show_complete", "0")
        if show_complete not in ("0", "1", "true", "false"):
            raise RefusalError(400, "The show_complete must be a boolean.")
        found = []
        for key, delivery in self.deliveries.items():
            if self.owners[key] != owner:
                continue
            if delivery["complete"] and show_complete not in ("1", "true"):
                continue
            filters = (("source", "sourceUuid"), ("token", "token"), ("destination", "destination"))
            if all(name not in query or delivery[key] == query[name] for name, key in filters):
                # the list writes quantities as strings, as the document shows
                found.append({**delivery, "quantity": str(delivery["quantity"])})
        return JSONResponse({"count": len(found), "items": found})

    def _get_delivery(self, request: Request, owner: str) -> Response:
        return JSONResponse(self._own(self.deliveries, request.path_params["id"], owner))

    def _update_delivery(self, request: Request, owner: str) -> Response:
        """Change a delivery: a new quantity must still be in the source's inventory, and
        neither a delivery date nor readiness is allowed for deliveries to usernames."""
        delivery = self._own(self.deliveries, request.path_params["id"], owner)
        body = request.state.json
        to_user = delivery["destination"].startswith("user:")
        if delivery["state"] == 2:
            raise RefusalError(422, "A sent delivery cannot change.")
        quantity = _quantity(body) if "quantity" in body else delivery["quantity"]
        if quantity != delivery["quantity"] and not delivery["pseudo"]:
            self._check_inventory(
                delivery["sourceUuid"], delivery["token"], quantity, besides=delivery["id"]
            )
        date = _date(body["delivery_date"]) if "delivery_date" in body else _UNSET
        if to_user and date not in (None, _UNSET):
            raise RefusalError(422, "The delivery_date is not allowed for deliveries to usernames.")
        ready = _flag(body, "ready", default=False) if "ready" in body else None
        if ready and to_user:
            raise RefusalError(422, "Deliveries to usernames cannot be ready.")
        ref_data = _text(body, "ref_data")
        delivery["quantity"] = quantity
        if date is not _UNSET:
            delivery["deliveryDate"] = date
            self._triggered.discard(delivery["id"])
        if "ref_data" in body:
            delivery["refData"] = ref_data
        if ready is not None:
            delivery["state"] = 1 if ready else 0
        delivery["updatedAt"] = self._stamp()
        self._release_due()
        return JSONResponse(delivery)

    def _cancel_delivery(self, request: Request, owner: str) -> Response:
        delivery = self._own(self.deliveries, request.path_params["id"], owner)
        if delivery["state"] == 2:
            raise RefusalError(422, "A sent delivery cannot be cancelled.")
        del self.deliveries[delivery["id"]]
        self._triggered.discard(delivery["id"])
        return JSONResponse({"result": True})

    # -- fulfillment and issuance ---------------------------------------------------------

    def _send(self, delivery: dict[str, Any]) -> None:
        delivery["state"] = 2
        delivery["deliveryTx"] = uuid.uuid4().hex + uuid.uuid4().hex
        delivery["updatedAt"] = self._stamp()

    def _fulfill_one(self, request: Request, owner: str) -> Response:
        delivery = self._own(self.deliveries, request.path_params["id"], owner)
        if delivery["state"] != 1:
            raise RefusalError(422, "The delivery is not ready.")
        if delivery["pseudo"]:
            raise RefusalError(422, "A pseudo token delivery cannot be fulfilled.")
        self._send(delivery)
        return JSONResponse({"result": True})

    def _fulfill_many(self, request: Request, owner: str) -> Response:
        """Send the ready deliveries of a source address, of the ``tokens`` given (a token
        or a list of them; absent, empty or ``"all"`` for every token)."""
        source = self._source_for(request.path_params["id"], owner)
        wanted = _tokens(request.state.json)
        for delivery in self.deliveries.values():
            if (
                delivery["sourceUuid"] == source["id"]
                and delivery["state"] == 1
                and not delivery["pseudo"]
                and (wanted is None or delivery["token"] in wanted)
            ):
                self._send(delivery)
        return JSONResponse({"result": True})

    def _issue(self, request: Request, owner: str) -> Response:
        source = self._source_for(request.path_params["id"], owner)
        body = request.state.json
        asset = _required(body, "asset")
        if not isinstance(body.get("divisible"), bool):
            raise RefusalError(422, "The divisible must be true or false.")
        issuance_id = str(uuid.uuid4())
        issuance: dict[str, Any] = {
            "id": issuance_id,
            "quantity": _quantity(body),
            "asset": asset,
            "copayTransaction": {"source": source["id"]},
        }
        self.issuances[issuance_id] = issuance
        return JSONResponse(issuance)


def _credentials_forbidden(scope: Scope, send: Send) -> Send:
    """``send`` with the verifier's refusals (a 401 before the emulator's routes) answered
    as Tokenly's servers answered them (laravel-api-provider): 403
    ``{"message": ..., "errors": [...]}``, the message the verifier's."""
    refused = False

    async def relay(message: Message) -> None:
        nonlocal refused
        if (
            message["type"] == "http.response.start"
            and message["status"] == 401
            and "tokenly" not in scope.get("state", {})
        ):
            refused = True
            return
        if refused and message["type"] == "http.response.body":
            said = json.loads(message.get("body") or b"{}").get("message")
            await respond_json(scope, send, 403, _refusal_body(said or _MESSAGES[403]))
            return
        await send(message)

    return relay


async def _http_error(request: Request, error: HTTPException) -> Response:
    return RefusalError(error.status_code, _MESSAGES.get(error.status_code)).response()


class _Unset:
    """The type of ``_UNSET``: a field the request left out (``None`` is a JSON null)."""


_UNSET = _Unset()


def _object(body: bytes) -> dict[str, Any]:
    try:
        found = json.loads(body)
    except ValueError:
        raise RefusalError(400, "The body is not JSON.") from None
    if not isinstance(found, dict):
        raise RefusalError(400, "The body must be a JSON object.")
    return found


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise RefusalError(400, f"The {name} must be a string.")
    return value


def _required(body: dict[str, Any], name: str) -> str:
    value = _text(body, name)
    if not value:
        raise RefusalError(422, f"The {name} field is required.")
    return value


def _flag(body: dict[str, Any], name: str, *, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise RefusalError(400, f"The {name} must be true or false.")
    return value


def _count(body: dict[str, Any], name: str, *, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RefusalError(400, f"The {name} must be a whole number.")
    return value


def _quantity(body: dict[str, Any]) -> int:
    value = body.get("quantity")
    if isinstance(value, bool) or not isinstance(value, int):
        raise RefusalError(400, "The quantity must be an integer of satoshis.")
    if value <= 0:
        raise RefusalError(422, "The quantity must be at least 1.")
    return value


def _tokens(body: dict[str, Any]) -> frozenset[str] | None:
    """The tokens of a fulfill-multiple request, or ``None`` for all of them."""
    value = body.get("tokens")
    if isinstance(value, dict):  # a PHP array whose keys have gaps is sent as an object
        value = list(value.values())
    if value is None or value in ("", "all", []):
        return None
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list) and all(isinstance(token, str) and token for token in value):
        return frozenset(value)
    raise RefusalError(400, 'The tokens must be a token, a list of tokens or "all".')


def _date(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RefusalError(400, "The delivery_date must be a unix time.")
    return datetime.fromtimestamp(value, UTC).strftime(_STAMP)


def _seconds(stamp: str) -> float:
    """A time the service wrote, in unix seconds."""
    return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC).timestamp()
