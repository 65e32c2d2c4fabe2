"""``DeliveryEmulator``: a small Token Delivery Service for tests and examples (a Starlette app).

It answers every documented call with the document's shapes, keeps source addresses
and deliveries in memory, and checks every request with ``TokenlyAuthMiddleware``
(the same verifier an app uses). ``fund`` gives a source address inventory;
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
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tca_gate._tokenly_hmac import ReplayStore
from tca_gate._tokenly_middleware import TokenlyAuthMiddleware

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
    """An error answer: ``status`` and what it says, naming ``field`` when one is at fault."""

    def __init__(self, status: int, message: str | None = None, field: str | None = None) -> None:
        super().__init__(message or _MESSAGES.get(status, "refused"))
        self.status = status
        self.field = field

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"message": str(self)}
        if self.field is not None:
            body["field"] = self.field
            body["errors"] = {self.field: [str(self)]}
        headers = {"Retry-After": "1"} if self.status in (429, 503) else None
        return JSONResponse(body, self.status, headers=headers)


def _now() -> str:
    return datetime.now(UTC).strftime(_STAMP)


class DeliveryEmulator:
    """The Token Delivery Service in memory, for the API users in ``secrets`` (token → secret).

    Every request is checked by ``TokenlyAuthMiddleware``; refusals are 401
    ``{"error": reason, "message"}``. Like the real service it keeps no replay store
    unless given one (Tokenly nonces are whole seconds, so a store refuses the same
    call made twice within a second).
    Each API user sees only its own source addresses and deliveries (others' are 404).
    """

    def __init__(
        self,
        secrets: Mapping[str, str],
        *,
        window: float = 300,
        replay_store: ReplayStore | None = None,
    ) -> None:
        self.secrets = dict(secrets)
        self.sources: dict[str, dict[str, Any]] = {}
        self.deliveries: dict[str, dict[str, Any]] = {}
        self.issuances: dict[str, dict[str, Any]] = {}
        self.inventory: dict[str, dict[str, int]] = {}
        self.owners: dict[str, str] = {}
        self.faults: list[int] = []
        self._lock = threading.Lock()
        self._app = TokenlyAuthMiddleware(
            self._routes(),
            secret_for=self.secrets,
            window=window,
            replay_store=replay_store,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """Serve on a free loopback port (needs uvicorn); yields the base URL."""
        from tca_gate._serving import BackgroundServer  # noqa: PLC0415 (needs uvicorn)

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
                    request.state.json = _object(body) if body else {}
                    return handler(request, request.state.tokenly.api_token)
                except RefusalError as refusal:
                    return refusal.response()

        return endpoint

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
            raise RefusalError(422, "The type must be 2:2 or 2:3.", "type")
        source_id = str(uuid.uuid4())
        stamp = _now()
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

    def _details(self, source: dict[str, Any]) -> dict[str, Any]:
        held = self.inventory.get(source["id"], {})
        pending: dict[str, int] = {}
        for delivery in self.deliveries.values():
            if delivery["sourceUuid"] == source["id"] and not delivery["complete"]:
                pending[delivery["token"]] = pending.get(delivery["token"], 0) + int(
                    delivery["quantity"]
                )
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
        source["updatedAt"] = _now()
        return JSONResponse(self._details(source))

    def _shutdown_source(self, request: Request, owner: str) -> Response:
        source = self._own(self.sources, request.path_params["id"], owner)
        body = request.state.json
        if "sweep_address" in body:
            _text(body, "sweep_address")
        if any(
            d["sourceUuid"] == source["id"] and not d["complete"] for d in self.deliveries.values()
        ):
            raise RefusalError(422, "Cancel the pending deliveries first.", "source")
        del self.sources[source["id"]]
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
        date = body.get("delivery_date")
        if destination.startswith("user:") and (hold or date is not None):
            raise RefusalError(422, "Not allowed for deliveries to usernames.", "destination")
        if not pseudo and quantity > self._details(source)["availableBalances"].get(token, 0):
            raise RefusalError(422, "The source address does not hold enough.", "quantity")
        delivery_id = str(uuid.uuid4())
        stamp = _now()
        delivery = {
            "id": delivery_id,
            "sourceUuid": source["id"],
            "destination": destination,
            "token": token,
            "quantity": quantity,
            "deliveryDate": _date(date),
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
        return JSONResponse(delivery)

    def _delivery_list(self, request: Request, owner: str) -> Response:
        query = request.query_params
        show_complete = query.get("show_complete", "0")
        if show_complete not in ("0", "1", "true", "false"):
            raise RefusalError(400, "show_complete must be a boolean.", "show_complete")
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
        delivery = self._own(self.deliveries, request.path_params["id"], owner)
        body = request.state.json
        if delivery["state"] == 2:
            raise RefusalError(422, "A sent delivery cannot change.", "id")
        if "quantity" in body:
            delivery["quantity"] = _quantity(body)
        if "delivery_date" in body:
            delivery["deliveryDate"] = _date(body["delivery_date"])
        if "ref_data" in body:
            delivery["refData"] = _text(body, "ref_data")
        if "ready" in body:
            ready = _flag(body, "ready", default=False)
            if ready and delivery["destination"].startswith("user:"):
                raise RefusalError(422, "Deliveries to usernames cannot be ready.", "ready")
            delivery["state"] = 1 if ready else 0
        delivery["updatedAt"] = _now()
        return JSONResponse(delivery)

    def _cancel_delivery(self, request: Request, owner: str) -> Response:
        delivery = self._own(self.deliveries, request.path_params["id"], owner)
        if delivery["state"] == 2:
            raise RefusalError(422, "A sent delivery cannot be cancelled.", "id")
        del self.deliveries[delivery["id"]]
        return JSONResponse({"result": True})

    # -- fulfillment and issuance ---------------------------------------------------------

    def _send(self, delivery: dict[str, Any]) -> None:
        delivery["state"] = 2
        delivery["deliveryTx"] = uuid.uuid4().hex + uuid.uuid4().hex
        delivery["updatedAt"] = _now()

    def _fulfill_one(self, request: Request, owner: str) -> Response:
        delivery = self._own(self.deliveries, request.path_params["id"], owner)
        if delivery["state"] != 1:
            raise RefusalError(422, "The delivery is not ready.", "id")
        self._send(delivery)
        return JSONResponse({"result": True})

    def _fulfill_many(self, request: Request, owner: str) -> Response:
        source = self._source_for(request.path_params["id"], owner)
        wanted = request.state.json.get("tokens")
        if wanted is not None and (
            not isinstance(wanted, list) or not all(isinstance(t, str) for t in wanted)
        ):
            raise RefusalError(400, "tokens must be a list of tokens.", "tokens")
        for delivery in self.deliveries.values():
            if (
                delivery["sourceUuid"] == source["id"]
                and delivery["state"] == 1
                and (wanted is None or delivery["token"] in wanted)
            ):
                self._send(delivery)
        return JSONResponse({"result": True})

    def _issue(self, request: Request, owner: str) -> Response:
        source = self._source_for(request.path_params["id"], owner)
        body = request.state.json
        asset = _required(body, "asset")
        if not isinstance(body.get("divisible"), bool):
            raise RefusalError(422, "divisible must be true or false.", "divisible")
        issuance_id = str(uuid.uuid4())
        issuance: dict[str, Any] = {
            "id": issuance_id,
            "quantity": _quantity(body),
            "asset": asset,
            "copayTransaction": {"source": source["id"]},
        }
        self.issuances[issuance_id] = issuance
        return JSONResponse(issuance)


async def _http_error(request: Request, error: HTTPException) -> Response:
    return RefusalError(error.status_code, _MESSAGES.get(error.status_code)).response()


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
        raise RefusalError(400, f"The {name} must be a string.", name)
    return value


def _required(body: dict[str, Any], name: str) -> str:
    value = _text(body, name)
    if not value:
        raise RefusalError(422, f"The {name} field is required.", name)
    return value


def _flag(body: dict[str, Any], name: str, *, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise RefusalError(400, f"The {name} must be true or false.", name)
    return value


def _count(body: dict[str, Any], name: str, *, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RefusalError(400, f"The {name} must be a whole number.", name)
    return value


def _quantity(body: dict[str, Any]) -> int:
    value = body.get("quantity")
    if isinstance(value, bool) or not isinstance(value, int):
        raise RefusalError(400, "The quantity must be an integer of satoshis.", "quantity")
    if value <= 0:
        raise RefusalError(422, "The quantity must be at least 1.", "quantity")
    return value


def _date(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RefusalError(400, "The delivery_date must be a unix time.", "delivery_date")
    return datetime.fromtimestamp(value, UTC).strftime(_STAMP)
