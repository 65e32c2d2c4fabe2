"""The sandbox's seed for a demo or an example app served at a given address."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from tca_gate.sandbox import Seed, load_seed
from tca_gate.wire.serving import local_url


def app_urls(host: str, port: int) -> tuple[str, ...]:
    """The base URLs a browser may use for an app on ``host``:``port``.

    >>> app_urls("127.0.0.1", 8000)
    ('http://127.0.0.1:8000', 'http://localhost:8000')
    >>> app_urls("0.0.0.0", 9000)
    ('http://127.0.0.1:9000', 'http://localhost:9000')
    >>> app_urls("192.0.2.7", 8000)
    ('http://192.0.2.7:8000', 'http://127.0.0.1:8000', 'http://localhost:8000')
    """
    found = (local_url(host, port), f"http://127.0.0.1:{port}", f"http://localhost:{port}")
    return tuple(dict.fromkeys(found))


def demo_seed(urls: Iterable[str], *, seed: Seed | None = None) -> Seed:
    """``seed`` (the demo seed when None) with its first app's redirect URIs set to
    ``{url}/auth/callback`` for each of ``urls``, so that logins come back to the app.

    >>> demo_seed(["http://127.0.0.1:9000"]).clients[0].redirect_uris
    ('http://127.0.0.1:9000/auth/callback',)
    """
    base = seed if seed is not None else load_seed()
    first, *others = base.clients
    uris = tuple(f"{url.rstrip('/')}/auth/callback" for url in urls)
    return dataclasses.replace(
        base, clients=(dataclasses.replace(first, redirect_uris=uris), *others)
    )
