"""Filling a new sandbox database from a ``Seed``, in one transaction."""

from __future__ import annotations

import json
import sqlite3

from tca_gate.errors import SeedError

from ._accounts import create_user, find_user
from ._addresses import new_verify_code
from ._api_error import ApiError
from ._promises import insert_promise, whitelist_source
from ._seed_file import Seed
from ._state import SandboxState


def apply_seed(state: SandboxState, seed: Seed) -> None:
    """Insert everything ``seed`` holds; ``SeedError`` (and nothing written) if it conflicts."""
    now = state.clock()
    try:
        with state.store.transaction() as db:
            for client in seed.clients:
                db.execute(
                    "INSERT INTO clients (client_id, client_secret, name, redirect_uris,"
                    " privileged) VALUES (?, ?, ?, ?, ?)",
                    (
                        client.client_id,
                        client.client_secret,
                        client.name,
                        json.dumps(list(client.redirect_uris)),
                        client.privileged,
                    ),
                )
            for user in seed.users:
                create_user(
                    db,
                    username=user.username,
                    password=user.password,
                    email=user.email,
                    name=user.name,
                    user_uuid=user.uuid,
                    email_confirmed=user.email_confirmed,
                    now=now,
                )
            for position, address in enumerate(seed.addresses):
                if address.user is not None:
                    owner = find_user(db, address.user)
                    assert owner is not None  # the seed's references are checked
                    db.execute(
                        "INSERT INTO addresses (address, user_id, label, public, active, verified,"
                        " verify_code, position, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            address.address,
                            owner["id"],
                            address.label,
                            address.public,
                            address.active,
                            address.verified,
                            None if address.verified else new_verify_code(),
                            position,
                            int(now),
                            int(now),
                        ),
                    )
                db.executemany(
                    "INSERT INTO balances (address, asset, sat) VALUES (?, ?, ?)",
                    [(address.address, asset, sat) for asset, sat in address.balances.items()],
                )
            for source in seed.sources:
                whitelist_source(
                    db,
                    source.client,
                    source.address,
                    None if source.assets is None else list(source.assets),
                    chain=source.chain,
                    protocol=source.protocol,
                )
            for promise in seed.promises:
                fields: dict[str, object] = {
                    "source": promise.source,
                    "destination": _stored_destination(db, promise.destination),
                    "asset": promise.asset,
                    "quantity": promise.quantity,
                    "expiration": promise.expiration,
                    "txid": promise.txid,
                    "fingerprint": promise.fingerprint,
                    "ref": promise.ref,
                    "note": promise.note,
                    "chain": promise.chain,
                    "protocol": promise.protocol,
                }
                insert_promise(db, promise.client, fields, now)
            db.executemany(
                "INSERT INTO perks (token, chat_count) VALUES (?, ?)",
                [(perk.token, perk.chat_count) for perk in seed.perks],
            )
            db.executemany(
                "INSERT INTO assets (chain, asset, divisible) VALUES (?, ?, ?)",
                [(asset.chain, asset.asset, asset.divisible) for asset in seed.assets],
            )
    except ApiError as error:
        raise SeedError(f"the seed does not fit together: {error.message}") from None


def _stored_destination(db: sqlite3.Connection, destination: str) -> str:
    """``user:{username}`` spelt as the user's name is stored (balances match it exactly)."""
    if not destination.startswith("user:"):
        return destination
    user = find_user(db, destination.removeprefix("user:"))
    assert user is not None  # the seed's references are checked
    return f"user:{user['username']}"
