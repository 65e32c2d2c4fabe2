"""The webhooks the sandbox sends when balances change, so an app's cache can forget them.

An app (a ``[[client]]``) with a webhook URL gets a POST when one of its promises is
made, changed or withdrawn (``promise.created`` / ``promise.updated`` /
``promise.deleted``), and every app with one gets ``balances.changed`` when an admin
sets an address's balance. The body names the holders whose balances changed (see
``docs/webhooks.md``) and is signed with Tokenly HMAC auth as the app signs its own
API calls: the app's ``client_id`` as API token, its ``client_secret`` as secret.

Events are sent in the background once the request's transaction has committed (the
task starts after the handler returns), so the API answer never waits for them;
failures are retried twice quickly (stamina), then logged on
``tca_gate.sandbox.webhooks``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import uuid
from collections.abc import Mapping

import httpx2
import stamina

from tca_gate.errors import InvalidArgumentError, shorten
from tca_gate.signing.tokenly import params_json, sign_tokenly_request
from tca_gate.wire.urls import signing_url

from ._seed_file import Seed, is_webhook_url

logger = logging.getLogger("tca_gate.sandbox.webhooks")

#: Tries per event, and the time each may take, in seconds.
ATTEMPTS, ATTEMPT_TIMEOUT = 3, 5.0
_USER = "user:"


class _ServerError(Exception):
    """The webhook answered 5xx: worth another try."""


class WebhookSender:
    """Where each app's webhooks go (``urls``, by ``client_id``; may change while running),
    and the deliveries under way."""

    def __init__(self, urls: Mapping[str, str] | None = None) -> None:
        self.urls: dict[str, str] = dict(urls or {})
        self._deliveries: set[asyncio.Task[None]] = set()

    def send(self, db: sqlite3.Connection, client_id: str, event: Mapping[str, object]) -> None:
        """Send ``event`` to ``client_id``'s webhook, if it has one, in the background."""
        url = self.urls.get(client_id)
        if url is None:
            return
        row = db.execute(
            "SELECT client_secret FROM clients WHERE client_id = ?", (client_id,)
        ).fetchone()
        if row is None:
            return
        delivery = asyncio.get_running_loop().create_task(
            _deliver(url, client_id, str(row[0]), event), name=f"webhook to {client_id}"
        )
        self._deliveries.add(delivery)
        delivery.add_done_callback(self._deliveries.discard)

    def send_to_all(self, db: sqlite3.Connection, event: Mapping[str, object]) -> None:
        """Send ``event`` to every app that has a webhook."""
        for client_id in list(self.urls):
            self.send(db, client_id, event)


def merged_webhook_urls(seed: Seed, overrides: Mapping[str, str | None] | None) -> dict[str, str]:
    """The seed's webhook URLs, replaced (or, with None, removed) by ``overrides``."""
    urls = {client.client_id: client.webhook_url for client in seed.clients if client.webhook_url}
    for client_id, url in (overrides or {}).items():
        if url is None:
            urls.pop(client_id, None)
        elif not isinstance(url, str) or not is_webhook_url(url):
            raise InvalidArgumentError(
                f"webhook_urls[{shorten(repr(client_id))}] must be an http:// or https:// URL "
                f"with a host, not {shorten(repr(url))}"
            )
        else:
            urls[client_id] = url
    return urls


def check_clients(db: sqlite3.Connection, urls: Mapping[str, str]) -> None:
    """Refuse webhook URLs for apps the sandbox does not have."""
    for client_id in urls:
        known = db.execute("SELECT 1 FROM clients WHERE client_id = ?", (client_id,)).fetchone()
        if known is None:
            raise InvalidArgumentError(
                f"webhook_urls names the app {shorten(repr(client_id))}, which the sandbox "
                "does not have"
            )


def promise_event(
    db: sqlite3.Connection, action: str, promise: Mapping[str, object]
) -> dict[str, object]:
    """``promise.{action}``: the promise's source and destination, and their owners."""
    usernames: list[str] = []
    addresses: list[str] = []
    for end in (promise["source"], promise["destination"]):
        assert isinstance(end, str)
        if end.startswith(_USER):
            usernames.append(end.removeprefix(_USER))
            continue
        addresses.append(end)
        usernames.extend(_owner(db, end))
    return _event(f"promise.{action}", usernames, addresses, promise=dict(promise))


def balance_event(
    db: sqlite3.Connection, address: str, asset: str, balance_sat: int
) -> dict[str, object]:
    """``balances.changed``: an address's real balance of an asset was set."""
    balance = {"address": address, "asset": asset, "balance_sat": balance_sat}
    return _event("balances.changed", _owner(db, address), [address], balance=balance)


def _event(
    name: str, usernames: list[str], addresses: list[str], **details: object
) -> dict[str, object]:
    return {
        "event": name,
        "id": str(uuid.uuid4()),
        "usernames": list(dict.fromkeys(usernames)),
        "addresses": list(dict.fromkeys(addresses)),
        **details,
    }


def _owner(db: sqlite3.Connection, address: str) -> list[str]:
    """The user who proved ``address`` is theirs, if any (as a list of 0 or 1 names)."""
    rows = db.execute(
        "SELECT users.username FROM addresses JOIN users ON users.id = addresses.user_id"
        " WHERE addresses.address = ? AND addresses.verified = 1",
        (address,),
    )
    return [str(row[0]) for row in rows]


async def _deliver(url: str, client_id: str, secret: str, event: Mapping[str, object]) -> None:
    """POST the signed event, retrying transport errors and 5xx; log what failed."""
    body = params_json(event).encode()
    where = signing_url(url)
    try:
        async for attempt in stamina.retry_context(
            on=(httpx2.TransportError, _ServerError),
            attempts=ATTEMPTS,
            timeout=ATTEMPTS * ATTEMPT_TIMEOUT,
            wait_initial=0.05,
            wait_max=0.5,
        ):
            with attempt:
                headers = sign_tokenly_request("POST", url, event, client_id, secret)
                headers["Content-Type"] = "application/json"
                async with httpx2.AsyncClient(timeout=ATTEMPT_TIMEOUT) as http:
                    answer = await http.post(url, content=body, headers=headers)
                if answer.status_code >= 500:
                    raise _ServerError(f"HTTP {answer.status_code}")
    except (httpx2.HTTPError, _ServerError) as error:
        reason = str(error) or type(error).__name__
        logger.warning("webhook %s to %s failed: %s", event["event"], where, reason)
        return
    if answer.status_code >= 300:
        logger.warning(
            "webhook %s to %s refused: HTTP %d %s",
            event["event"],
            where,
            answer.status_code,
            shorten(answer.text, 200),
        )
