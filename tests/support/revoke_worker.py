"""One worker process of an app on a shared Redis cache, for the revocation tests.

``python -m tests.support.revoke_worker REDIS_URL PREFIX HOLDINGS [NEAR_TTL]`` serves
``revoking_app`` on a ``RedisCachedBalances`` (``PREFIX``; a near cache of ``NEAR_TTL``
seconds if given) of the ``Holdings`` file,
with the balance webhook at ``/hooks`` (signed with ``WEBHOOK_TOKEN`` and
``WEBHOOK_SECRET``), on a free loopback port; prints ``serving URL`` and serves until
Ctrl-C. No sweep runs (``recheck`` is an hour): only the change feed revokes.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Route

from tca_gate import Gate, RedisCachedBalances
from tca_gate.balances import BalanceWebhook
from tca_gate.wire.serving import listen, local_url, serve_in_foreground
from tests.support.holdings import Holdings, from_query, revoking_app

WEBHOOK_TOKEN, WEBHOOK_SECRET = "balance-webhook", "balance-webhook-secret-never-shown"
#: Seconds: longer than any test, so neither the TTL nor the sweep acts during one.
HOUR = 3600.0


def main(redis_url: str, prefix: str, holdings: str, near_ttl: str = "") -> None:
    cache = RedisCachedBalances.from_url(
        Holdings(Path(holdings)),
        redis_url,
        ttl=HOUR,
        prefix=prefix,
        near_ttl=float(near_ttl) if near_ttl else None,
    )
    gate = Gate(cache, identity=from_query, recheck=HOUR)
    hook = BalanceWebhook(cache, api_token=WEBHOOK_TOKEN, api_secret=WEBHOOK_SECRET)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await cache.aclose()

    app = revoking_app(gate, routes=[Route("/hooks", hook)], lifespan=lifespan)
    listener = listen("127.0.0.1", 0)
    print(f"serving {local_url('127.0.0.1', listener.getsockname()[1])}", flush=True)
    serve_in_foreground(app, listener)


if __name__ == "__main__":
    main(*sys.argv[1:])
