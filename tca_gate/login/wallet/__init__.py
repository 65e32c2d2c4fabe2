"""Sign in with a Bitcoin wallet, no Tokenpass needed: the user signs a one-time challenge.

>>> from starlette.applications import Starlette
>>> from starlette.middleware import Middleware
>>> from starlette.middleware.sessions import SessionMiddleware
>>> from starlette.routing import Mount
>>> from tca_gate.login.wallet import WalletLogin
>>> wallet = WalletLogin(origin="https://shop.example")
>>> app = Starlette(
...     routes=[Mount("/wallet", routes=wallet.routes)],
...     middleware=[Middleware(SessionMiddleware, secret_key="a long random secret")],
... )

Then ``Gate(balances, identity=wallet.identity())`` gates by the proven address's
balances, ``await wallet.address(request)`` reads it and
``Depends(wallet.require_address)`` guards a FastAPI route. Sign-ins are kept in this
process's memory; ``store=RedisWalletStore(redis)`` and a Redis ``replay_store`` share
them between workers. Needs the ``wallet`` extra (coincurve, base58).
"""

from tca_gate.extras import require_extra

require_extra("wallet", "coincurve", "base58", needed_by="Sign in with a wallet")

from tca_gate.public import publish

from ._challenge import DEFAULT_CHALLENGE_TTL, WalletChallenge
from ._login import WalletLogin
from ._store import WALLET_KEY, RedisWalletStore, WalletRecord, WalletStore

__all__ = [
    "DEFAULT_CHALLENGE_TTL",
    "WALLET_KEY",
    "RedisWalletStore",
    "WalletChallenge",
    "WalletLogin",
    "WalletRecord",
    "WalletStore",
]

publish(__name__, globals(), __all__)
