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

Then ``current_user(request)`` and ``access_token(request)`` read the login, and
``Depends(require_user)`` guards a FastAPI route (401 without a login).
"""

try:
    import httpx  # noqa: F401
    import itsdangerous  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        f"Tokenpass login needs {error.name}: pip install 'tca-gate[login]'"
    ) from error

from ._errors import LoginConfigError, LoginError
from ._login import TokenpassLogin
from ._session import NEXT_KEY, SESSION_KEY, access_token, current_user, require_user
from ._user import TokenpassUser

__all__ = [
    "NEXT_KEY",
    "SESSION_KEY",
    "LoginConfigError",
    "LoginError",
    "TokenpassLogin",
    "TokenpassUser",
    "access_token",
    "current_user",
    "require_user",
]
