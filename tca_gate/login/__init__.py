"""Log in with Tokenpass in Starlette and FastAPI apps (OAuth 2 through authlib).

>>> from starlette.applications import Starlette
>>> from starlette.middleware import Middleware
>>> from starlette.middleware.sessions import SessionMiddleware
>>> from starlette.routing import Mount
>>> from tca_gate.login import TokenpassLogin
>>> login = TokenpassLogin("https://tokenpass.example", "my-client-id", "my-secret")
>>> app = Starlette(
...     routes=[Mount("/auth", routes=login.routes)],
...     middleware=[Middleware(SessionMiddleware, secret_key="a long random secret")],
... )

Then ``current_user(request)`` reads the login, ``Depends(require_user)`` guards a
FastAPI route (401 without a login) and ``Gate(balances, identity=login.identity())``
gates by the user's tokens. The session cookie holds only a random id: the token stays
server side (in memory; ``store=RedisLoginStore(redis)`` for several workers, read
with ``await login.current_user(request)``). Logging out is a POST carrying
``csrf_token(request)``; ``check_csrf`` protects the app's own forms the same way.

No Tokenpass? ``tca_gate.login.wallet.WalletLogin`` signs users in by a Bitcoin address
they prove with a signed challenge (the ``wallet`` extra).
"""

from tca_gate.extras import require_extra

require_extra("login", "httpx2", "itsdangerous", needed_by="Tokenpass login")

from tca_gate.errors import LoginConfigError, LoginError
from tca_gate.public import publish

# The ``name as name`` imports are shared with tca_gate.gate, tca_gate.demo and
# tca_gate.login.wallet; not in ``__all__``.
from ._csrf import CSRF_FIELD, CSRF_HEADER, check_csrf, csrf_field, csrf_token
from ._csrf import renew_csrf_token as renew_csrf_token
from ._login import DEFAULT_SCOPES, TokenpassLogin
from ._next import safe_next as safe_next
from ._session import NEXT_KEY, SESSION_KEY, access_token, current_user, require_user
from ._session import memory_record as memory_record
from ._session import session_login as session_login
from ._session import session_of as session_of
from ._store import DEFAULT_MAX_AGE as DEFAULT_MAX_AGE
from ._store import LoginRecord, LoginStore, RedisLoginStore
from ._store import MemoryRecords as MemoryRecords
from ._store import RedisRecords as RedisRecords
from ._store import new_session_id as new_session_id
from ._store import record_key as record_key
from ._user import TokenpassUser

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "DEFAULT_SCOPES",
    "NEXT_KEY",
    "SESSION_KEY",
    "LoginConfigError",
    "LoginError",
    "LoginRecord",
    "LoginStore",
    "RedisLoginStore",
    "TokenpassLogin",
    "TokenpassUser",
    "access_token",
    "check_csrf",
    "csrf_field",
    "csrf_token",
    "current_user",
    "require_user",
]

publish(__name__, globals(), __all__)
