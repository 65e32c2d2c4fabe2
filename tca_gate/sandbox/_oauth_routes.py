"""The OAuth endpoints: the authorize page (log in, grant or deny), token exchange, the user."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl

from authlib.oauth2 import OAuth2Error  # type: ignore[import-untyped]
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from ._accounts import authenticate
from ._api_error import ApiError
from ._authorize_page import authorize_page, error_page
from ._bodies import MAX_FORM, read_body
from ._oauth_server import OAuthClient, OAuthRequest, SandboxAuthorizationServer
from ._state import SandboxState

#: The authorize page may not be framed by another site (clickjacking).
_NO_FRAMING = {"Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY"}


async def authorize(request: Request) -> Response:
    """GET shows the login and consent form; POST logs in and grants, or denies."""
    server: SandboxAuthorizationServer = request.app.state.oauth
    if request.method == "GET":
        items: Sequence[tuple[str, str]] = request.query_params.multi_items()
    else:
        try:
            items = await _form(request)
        except ApiError as error:
            return _page(error_page(error.message), error.status)
    try:
        oauth_request = OAuthRequest(request.method, str(request.url), request.headers, items)
        grant = server.get_consent_grant(oauth_request)
    except OAuth2Error as error:
        if error.redirect_uri:
            return server.handle_error_response(None, error)  # type: ignore[no-any-return]
        return _page(error_page(error.description or error.error), 400)
    except ValueError:  # authlib refuses to echo characters outside printable ASCII
        return _page(error_page("the request's parameters are malformed"), 400)
    client: OAuthClient = grant.request.client
    fields = dict(items)
    if request.method == "GET":
        return _page(authorize_page(client.name, fields, grant.request.scope))
    if fields.get("decision") == "deny":
        return server.create_authorization_response(oauth_request, None, grant)  # type: ignore[no-any-return]
    if fields.get("decision") != "grant":
        return _page(error_page("choose to grant or deny access"), 400)
    state: SandboxState = request.app.state.sandbox
    user = await authenticate(state.store, fields.get("username", ""), fields.get("password", ""))
    if user is None:
        page = authorize_page(
            client.name, fields, grant.request.scope, "wrong username or password"
        )
        return _page(page, 401)
    return server.create_authorization_response(oauth_request, user, grant)  # type: ignore[no-any-return]


async def access_token(request: Request) -> Response:
    """POST: exchange a code for an access token (``client_secret_post``)."""
    server: SandboxAuthorizationServer = request.app.state.oauth
    try:
        items = await _form(request)
    except ApiError as error:
        return error.response(with_result=False)
    try:
        oauth_request = OAuthRequest(request.method, str(request.url), request.headers, items)
        return server.create_token_response(oauth_request)  # type: ignore[no-any-return]
    except OAuth2Error as error:
        return server.handle_error_response(None, error)  # type: ignore[no-any-return]
    except ValueError:  # authlib refuses to echo characters outside printable ASCII
        malformed = {"error": "invalid_request", "error_description": "malformed parameters"}
        return JSONResponse(malformed, 400)


async def oauth_user(request: Request) -> Response:
    """GET: the user an access token (``access_token`` or a Bearer header) belongs to.

    The token must carry the ``user`` scope, as Tokenpass's basic user info needed.
    """
    state: SandboxState = request.app.state.sandbox
    token = request.query_params.get("access_token")
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if not token and scheme.lower() == "bearer":
        token = credentials.strip()
    with state.store.transaction() as db:
        user = db.execute(
            "SELECT users.*, access_tokens.scope AS scope FROM access_tokens"
            " JOIN users ON users.id = access_tokens.user_id"
            " WHERE access_tokens.token = ? AND access_tokens.expires_at > ?",
            (token or "", state.clock()),
        ).fetchone()
    if user is None:
        refusal = ApiError(
            401,
            "the access token is missing, unknown or expired",
            field="access_token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
        return refusal.response(with_result=False)
    if "user" not in user["scope"].split(","):
        refusal = ApiError(
            403,
            "the access token lacks the 'user' scope",
            field="access_token",
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="user"'},
        )
        return refusal.response(with_result=False)
    return JSONResponse(
        {
            "id": user["uuid"],
            "username": user["username"],
            "email": user["email"],
            "name": user["name"],
            "email_is_confirmed": bool(user["email_confirmed"]),
        }
    )


async def _form(request: Request) -> list[tuple[str, str]]:
    """The fields of a URL-encoded form of at most ``MAX_FORM`` bytes; 413 otherwise."""
    raw = await read_body(request, MAX_FORM)
    return parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)


def _page(html: str, status: int = 200) -> HTMLResponse:
    """An authorize-flow page that no other site may frame."""
    return HTMLResponse(html, status, headers=_NO_FRAMING)
