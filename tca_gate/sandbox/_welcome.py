"""What ``tca-gate sandbox`` prints on start: where it listens, its apps and its users."""

from __future__ import annotations

import json

from starlette.applications import Starlette

from ._seed_file import Seed
from ._state import SandboxState


def welcome(app: Starlette, seed: Seed, url: str) -> list[str]:
    """Lines naming the URL, each app's credentials and each user (with the password when
    this start seeded the database; a kept database stores only password hashes)."""
    state: SandboxState = app.state.sandbox
    lines = [f"tca-gate sandbox on {url} (OpenAPI: {url}/openapi.json)"]
    if state.store.is_new:
        where = "in memory" if state.store.path == ":memory:" else state.store.path
        lines.append(f"seeded a new database ({where}):")
        for client in seed.clients:
            uris = ", ".join(client.redirect_uris)
            lines.append(f"  app {client.client_id}: secret {client.client_secret}")
            lines.append(f"    redirect URIs: {uris}")
        lines.extend(f"  user {user.username}: password {user.password}" for user in seed.users)
        return lines
    lines.append(f"kept the data in {state.store.path} (a seed fills a new database only):")
    with state.store.transaction() as db:
        clients = db.execute(
            "SELECT client_id, client_secret, redirect_uris FROM clients ORDER BY client_id"
        ).fetchall()
        users = [row[0] for row in db.execute("SELECT username FROM users ORDER BY id")]
    for client_id, secret, uris in clients:
        lines.append(f"  app {client_id}: secret {secret}")
        lines.append(f"    redirect URIs: {', '.join(json.loads(uris))}")
    lines.extend(f"  user {username}: password as seeded" for username in users)
    return lines
