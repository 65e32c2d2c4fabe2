"""``CounterpartyEmulator``: a small Counterparty Core API v2 for tests and examples.

It answers ``/v2/``, ``/v2/addresses/balances``, ``/v2/addresses/{address}/balances``,
``/v2/assets/{asset}`` and ``/v2/assets/{asset}/balances`` with the real API's shapes,
headers (``X-COUNTERPARTY-READY``, ``X-LEDGER-STATE``...) and paging (``limit``,
``cursor``, ``next_cursor``, ``result_count``), from balances set in Python or read from
a TOML file. It can be told to catch up (data calls answer 503, as a real node does),
to fail (5xx), to stall past a client's timeout or to send malformed data, for the
next few data calls. ``calls`` records every request (path and query) it served.
``running()`` serves it on loopback (needs uvicorn, as in the ``sandbox`` extra)::

    >>> from tca_gate.counterparty import CounterpartyClient
    >>> node = CounterpartyEmulator()
    >>> node.issue("LTBCOIN")
    >>> node.set_balance("1Alice", "LTBCOIN", 150_000_000)
    >>> with node.running() as url, CounterpartyClient(url) as client:
    ...     page = client.addresses_balances(["1Alice"])
    ...     print(page.items[0].asset, page.items[0].total, client.status().ready)
    LTBCOIN 150000000 True

A TOML file holds ``[[asset]]`` and ``[[balance]]`` tables::

    [[asset]]
    asset = "A95428956980101314"     # a subasset: its numeric name ...
    longname = "PARENT.child"        # ... and the long name rules use
    divisible = false

    [[balance]]
    address = "1Alice"
    asset = "PARENT.child"           # the asset or its long name
    quantity = 3                     # base units: whole tokens when indivisible
    utxo = "txid:0"                  # optional: attached to a UTXO 1Alice owns
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tca_gate.errors import InvalidArgumentError

#: How the emulator's next data answers go wrong.
Fault = Literal["fail", "stall", "not-json", "bad-quantity"]
_BLOCK_HEIGHT = 850_214
_DEFAULT_LIMIT = 100


@dataclass(frozen=True, slots=True)
class _Asset:
    asset: str
    longname: str | None
    divisible: bool
    issuer: str | None
    description: str


@dataclass(frozen=True, slots=True)
class _Held:
    address: str
    asset: str
    utxo: str | None
    quantity: int

    def row(self) -> dict[str, object]:
        if self.utxo is None:
            return {"address": self.address, "utxo": None, "utxo_address": None}
        return {"address": None, "utxo": self.utxo, "utxo_address": self.address}


class CounterpartyEmulator:
    """An in-memory Counterparty node; an ASGI app. Safe to change while it serves."""

    def __init__(self) -> None:
        self._assets: dict[str, _Asset] = {}
        self._held: dict[tuple[str, str, str | None], int] = {}
        self._lock = threading.Lock()
        self._catching_up = False
        self._serve_while_behind = False
        self._faults: list[tuple[Fault, float]] = []
        self._closing = False
        self.calls: list[tuple[str, dict[str, str]]] = []
        self._app = Starlette(
            routes=[
                Route("/v2/", self._status),
                Route("/v2/addresses/balances", self._addresses_balances),
                Route("/v2/addresses/{address}/balances", self._address_balances),
                Route("/v2/assets/{asset}", self._asset),
                Route("/v2/assets/{asset}/balances", self._asset_balances),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    # -- setting it up -------------------------------------------------------------------

    def issue(
        self,
        asset: str,
        *,
        divisible: bool = True,
        longname: str | None = None,
        issuer: str | None = None,
        description: str = "",
    ) -> None:
        """Create an asset (a subasset: its numeric name and ``longname``)."""
        with self._lock:
            self._assets[asset] = _Asset(asset, longname, divisible, issuer, description)

    def set_balance(
        self, address: str, asset: str, quantity: int, *, utxo: str | None = None
    ) -> None:
        """Set what ``address`` holds of ``asset`` (by name or long name) in base units,
        itself or (``utxo``) attached to a UTXO it owns; 0 removes the holding."""
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise InvalidArgumentError(f"quantity must be an int, not negative: {quantity!r}")
        with self._lock:
            name = self._named(asset).asset
            if quantity:
                self._held[address, name, utxo] = quantity
            else:
                self._held.pop((address, name, utxo), None)

    def load_toml(self, text: str) -> None:
        """Add the ``[[asset]]`` and ``[[balance]]`` tables of a TOML document."""
        try:
            data = tomllib.loads(text)
            for entry in data.get("asset", []):
                self.issue(
                    entry["asset"],
                    divisible=entry.get("divisible", True),
                    longname=entry.get("longname"),
                    issuer=entry.get("issuer"),
                    description=entry.get("description", ""),
                )
            for entry in data.get("balance", []):
                self.set_balance(
                    entry["address"], entry["asset"], entry["quantity"], utxo=entry.get("utxo")
                )
        except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as error:
            raise InvalidArgumentError(
                f"the Counterparty balances cannot be read: {error}"
            ) from None

    @classmethod
    def from_toml(cls, path: str | Path) -> CounterpartyEmulator:
        """An emulator holding the assets and balances of a TOML file."""
        emulator = cls()
        emulator.load_toml(Path(path).read_text(encoding="utf-8"))
        return emulator

    # -- faults --------------------------------------------------------------------------

    def catch_up(self, catching_up: bool = True, *, serve_data: bool = False) -> None:
        """Report the ledger as catching up (``/v2/`` says so, data calls answer 503); with
        ``serve_data`` data calls are answered, their headers saying the node is behind."""
        with self._lock:
            self._catching_up = catching_up
            self._serve_while_behind = serve_data

    def fail(self, requests: int = 1, *, status: int = 500) -> None:
        """Answer the next ``requests`` data calls with ``status`` and an error body."""
        self._queue("fail", requests, status)

    def stall(self, requests: int = 1, *, seconds: float = 30.0) -> None:
        """Hold the next ``requests`` data calls ``seconds`` before answering (as a node
        does under load), past a client's timeout."""
        self._queue("stall", requests, seconds)

    def malform(
        self, requests: int = 1, *, how: Literal["not-json", "bad-quantity"] = "bad-quantity"
    ) -> None:
        """Send malformed data to the next ``requests`` data calls: a body that is not
        JSON, or a quantity that is not an integer."""
        self._queue(how, requests, 0.0)

    def _queue(self, fault: Fault, requests: int, value: float) -> None:
        with self._lock:
            self._faults.extend([(fault, value)] * requests)

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """Serve on a free loopback port (needs uvicorn); yields the base URL."""
        from tca_gate.wire.serving import BackgroundServer  # noqa: PLC0415 (needs uvicorn)

        # IPPROTO_TCP named: asyncio then sets TCP_NODELAY on the accepted connections (with
        # proto 0 it does not, and every answer waits ~40 ms for a delayed ACK).
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.bind(("127.0.0.1", 0))
        self._closing = False
        server = BackgroundServer(self, listener, name="the Counterparty emulator", lifespan="off")
        with server:
            try:
                yield f"http://127.0.0.1:{listener.getsockname()[1]}"
            finally:
                self._closing = True  # stalled answers end, so the server stops at once

    # -- answers -------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        behind = self._catching_up
        return {
            "X-COUNTERPARTY-HEIGHT": str(_BLOCK_HEIGHT - 1000 if behind else _BLOCK_HEIGHT),
            "X-BITCOIN-HEIGHT": str(_BLOCK_HEIGHT),
            "X-COUNTERPARTY-READY": "false" if behind else "true",
            "X-LEDGER-STATE": "Catching Up" if behind else "Following",
        }

    async def _status(self, request: Request) -> Response:
        self._record(request)
        behind = self._catching_up
        result = {
            "server_ready": not behind,
            "network": "mainnet",
            "version": "11.4.0",
            "backend_height": _BLOCK_HEIGHT,
            "counterparty_height": _BLOCK_HEIGHT - 1000 if behind else _BLOCK_HEIGHT,
            "ledger_state": "Catching Up" if behind else "Following",
        }
        return JSONResponse({"result": result}, headers=self._headers())

    async def _data(self, request: Request) -> Response | None:
        """The answer a fault or a catching-up node gives instead of the data, if any."""
        self._record(request)
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
            behind, serve = self._catching_up, self._serve_while_behind
        if fault is not None:
            kind, value = fault
            if kind == "fail":
                return self._error(int(value), "Internal server error")
            if kind == "stall":
                end = time.monotonic() + value
                while time.monotonic() < end and not self._closing:
                    await asyncio.sleep(0.01)
            if kind == "not-json":
                return Response("<html>Bad Gateway</html>", headers=self._headers())
            if kind == "bad-quantity":
                request.state.bad_quantity = True
        if behind and not serve:
            return self._error(503, "Counterparty not ready")
        return None

    def _error(self, status: int, message: str) -> Response:
        return JSONResponse({"error": message}, status_code=status, headers=self._headers())

    def _record(self, request: Request) -> None:
        with self._lock:
            self.calls.append((request.url.path, dict(request.query_params)))

    def _page(self, request: Request, rows: list[dict[str, object]]) -> Response:
        try:
            limit = int(request.query_params.get("limit", _DEFAULT_LIMIT))
            start = int(request.query_params.get("cursor", 0))
        except ValueError:
            return self._error(400, "limit and cursor must be integers")
        if limit < 1 or start < 0:
            return self._error(400, "limit must be positive and cursor not negative")
        shown = rows[start : start + limit]
        if getattr(request.state, "bad_quantity", False) and shown:
            shown[0] = _spoiled(shown[0])
        following = start + limit if start + limit < len(rows) else None
        body = {"result": shown, "next_cursor": following, "result_count": len(rows)}
        return JSONResponse(body, headers=self._headers())

    async def _addresses_balances(self, request: Request) -> Response:
        refusal = await self._data(request)
        if refusal is not None:
            return refusal
        wanted = {a for a in request.query_params.get("addresses", "").split(",") if a}
        if not wanted:
            return self._error(400, "addresses: this field is required")
        verbose = request.query_params.get("verbose") == "true"
        kind = request.query_params.get("type", "all")
        with self._lock:
            groups: dict[str, list[dict[str, object]]] = {}
            for held in self._holdings(kind):
                if held.address in wanted:
                    row = {**held.row(), "quantity": held.quantity}
                    groups.setdefault(held.asset, []).append(row)
            rows: list[dict[str, object]] = []
            for name, entries in sorted(groups.items()):
                asset = self._assets[name]
                total = sum(int(str(entry["quantity"])) for entry in entries)
                row = {
                    "asset": name,
                    "asset_longname": asset.longname,
                    "total": total,
                    "addresses": entries,
                }
                if verbose:
                    row["asset_info"] = _info(asset)
                    row["total_normalized"] = _normalized(asset, total)
                rows.append(row)
        return self._page(request, rows)

    async def _address_balances(self, request: Request) -> Response:
        refusal = await self._data(request)
        if refusal is not None:
            return refusal
        address = request.path_params["address"]
        return self._balance_rows(request, lambda held: held.address == address)

    async def _asset_balances(self, request: Request) -> Response:
        asset = await self._path_asset(request)
        if isinstance(asset, Response):
            return asset
        return self._balance_rows(request, lambda held: held.asset == asset.asset)

    def _balance_rows(self, request: Request, chosen: Callable[[_Held], bool]) -> Response:
        verbose = request.query_params.get("verbose") == "true"
        kind = request.query_params.get("type", "all")
        rows: list[dict[str, object]] = []
        with self._lock:
            for held in sorted(self._holdings(kind), key=lambda h: (h.asset, h.address)):
                if not chosen(held):
                    continue
                asset = self._assets[held.asset]
                row = {
                    **held.row(),
                    "asset": held.asset,
                    "asset_longname": asset.longname,
                    "quantity": held.quantity,
                }
                if verbose:
                    row["asset_info"] = _info(asset)
                    row["quantity_normalized"] = _normalized(asset, held.quantity)
                rows.append(row)
        return self._page(request, rows)

    async def _asset(self, request: Request) -> Response:
        asset = await self._path_asset(request)
        if isinstance(asset, Response):
            return asset
        with self._lock:
            supply = sum(q for (_, name, _), q in self._held.items() if name == asset.asset)
        result = {
            "asset": asset.asset,
            "asset_longname": asset.longname,
            "issuer": asset.issuer,
            "owner": asset.issuer,
            "divisible": asset.divisible,
            "locked": False,
            "supply": supply,
            "description": asset.description,
        }
        if getattr(request.state, "bad_quantity", False):
            result["supply"] = "lots"
        return JSONResponse({"result": result}, headers=self._headers())

    async def _path_asset(self, request: Request) -> _Asset | Response:
        """The asset the path names, or the answer given instead (a fault, a node catching
        up, 404 for an asset never issued)."""
        refusal = await self._data(request)
        if refusal is not None:
            return refusal
        with self._lock:
            asset = self._find(request.path_params["asset"])
        return self._error(404, "Not found") if asset is None else asset

    def _holdings(self, kind: str) -> list[_Held]:
        return [
            _Held(address, asset, utxo, quantity)
            for (address, asset, utxo), quantity in self._held.items()
            if kind == "all" or (kind == "utxo") == (utxo is not None)
        ]

    def _find(self, name: str) -> _Asset | None:
        if name in self._assets:
            return self._assets[name]
        return next((a for a in self._assets.values() if a.longname == name), None)

    def _named(self, name: str) -> _Asset:
        asset = self._find(name)
        if asset is None:
            raise InvalidArgumentError(f"no asset {name!r}: issue() it first")
        return asset


def _info(asset: _Asset) -> dict[str, object]:
    return {
        "asset_longname": asset.longname,
        "description": asset.description,
        "issuer": asset.issuer,
        "divisible": asset.divisible,
        "locked": False,
        "owner": asset.issuer,
    }


def _normalized(asset: _Asset, quantity: int) -> str:
    if not asset.divisible:
        return str(quantity)
    return f"{Decimal(quantity) / 100_000_000:.8f}"


def _spoiled(row: dict[str, object]) -> dict[str, object]:
    """The row with a quantity that is no integer (a float), where it has one."""
    if "addresses" in row:
        entries = list(row["addresses"])  # type: ignore[call-overload]
        entries[0] = {**entries[0], "quantity": 1.5}
        return {**row, "addresses": entries}
    return {**row, "quantity": 1.5}
