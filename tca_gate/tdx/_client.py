"""``TDXClient`` and ``AsyncTDXClient``: signed JSON calls to a TDX-style API over httpx2.

Seed 004 documents the auth scheme, not endpoints, so the client is generic:
``request(method, path, params=..., json=...)`` and ``get``/``post``/``put``/``delete``,
each answering the JSON value (numbers with a fraction as ``Decimal``, never float).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TypeAlias, TypeVar, cast

import httpx2

from tca_gate.errors import InvalidArgumentError
from tca_gate.service import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    AsyncServiceClient,
    Call,
    Endpoint,
    RetryPolicy,
    ServiceCore,
    SyncServiceClient,
    exact_json,
    malformed,
    refusal,
)
from tca_gate.signing.tdx.auth import TDXAuth, TDXBearerAuth

SERVICE = "TDX"

T = TypeVar("T")

#: A JSON value as the client reads it: exact numbers (``int`` or ``Decimal``).
JSON: TypeAlias = "bool | int | Decimal | str | list[JSON] | dict[str, JSON] | None"

#: Query parameters: a mapping or ordered pairs (order is kept, and signed as sent).
Params: TypeAlias = Mapping[str, str | int] | Sequence[tuple[str, str | int]]


def _query(params: Params | None) -> tuple[tuple[str, str], ...]:
    items = params.items() if isinstance(params, Mapping) else (params or ())
    pairs = []
    for name, value in items:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidArgumentError(
                f"query parameter {name!r} must be a str or int, not {type(value).__name__}"
            )
        pairs.append((name, str(value)))
    return tuple(pairs)


def _checked(value: object, where: str) -> None:
    """Refuse what compact JSON cannot carry exactly (floats, ``Decimal``, other objects)."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidArgumentError(f"json{where} has a key that is not a str: {key!r}")
            _checked(item, f"{where}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _checked(item, f"{where}[{index}]")
        return
    raise InvalidArgumentError(
        f"json{where} is a {type(value).__name__}; send exact numbers as int or str"
    )


def _unread(data: object) -> JSON:
    raise AssertionError("TDX answers are read by read_tdx_answer")  # pragma: no cover


def _request(
    context: None,
    method: str,
    path: str,
    params: Params | None = None,
    json: Mapping[str, object] | None = None,
) -> Call[JSON]:
    """Call ``method path`` (relative to the base URL) with ``params`` in the query and
    ``json`` (an object, sent as compact JSON) as the body; answers the JSON value."""
    if not isinstance(method, str) or not method.isalpha():
        raise InvalidArgumentError(f"method must be an HTTP verb such as 'GET', not {method!r}")
    if not isinstance(path, str) or not path.startswith("/"):
        raise InvalidArgumentError(f"path must start with '/', not {path!r}")
    if json is not None:
        _checked(json, "")
    return Call(method.upper(), path, _unread, query=_query(params), json=json)


def _get(context: None, path: str, params: Params | None = None) -> Call[JSON]:
    """``GET path`` with ``params``; retried with a fresh signature when it fails."""
    return _request(context, "GET", path, params)


def _post(
    context: None, path: str, json: Mapping[str, object] | None = None, params: Params | None = None
) -> Call[JSON]:
    """``POST path`` with the ``json`` object as its body; never retried."""
    return _request(context, "POST", path, params, json)


def _put(
    context: None, path: str, json: Mapping[str, object] | None = None, params: Params | None = None
) -> Call[JSON]:
    """``PUT path`` with the ``json`` object as its body."""
    return _request(context, "PUT", path, params, json)


def _delete(context: None, path: str, params: Params | None = None) -> Call[JSON]:
    """``DELETE path`` with ``params``."""
    return _request(context, "DELETE", path, params)


def read_tdx_answer(response: httpx2.Response) -> JSON:
    """The JSON value of a successful answer (``None`` when empty); any other answer
    raises its ``ServiceError`` (401 ``AuthenticationError`` with the refusal's reason
    as ``code``, 404 ``NotFoundError``, ...)."""
    if not response.is_success:
        raise refusal(SERVICE, response)
    if not response.content:
        return None
    try:
        value = cast(JSON, exact_json(response.content))
    except (ValueError, RecursionError):
        raise malformed(SERVICE, response.request, "the answer is not JSON") from None
    return value


class TDXAPI:
    """The calls: on ``TDXClient`` each returns the value, on ``AsyncTDXClient`` an awaitable."""

    request = Endpoint(_request)
    get = Endpoint(_get)
    post = Endpoint(_post)
    put = Endpoint(_put)
    delete = Endpoint(_delete)


def tdx_core(
    base_url: str | httpx2.URL,
    auth: TDXAuth | TDXBearerAuth,
    timeout: float | httpx2.Timeout | None,
    retries: RetryPolicy | int,
) -> ServiceCore:
    """The shared core: every call signed by ``auth``."""
    if not isinstance(auth, (TDXAuth, TDXBearerAuth)):
        raise InvalidArgumentError(
            f"auth must be a TDXAuth or TDXAuth.bearer(token), not {type(auth).__name__}"
        )
    return ServiceCore(
        SERVICE,
        base_url,
        auth=auth,
        timeout=timeout,
        retries=retries,
        reader=lambda call, response, retry: read_tdx_answer(response),
    )


class TDXClient(TDXAPI, SyncServiceClient[None]):
    """A TDX client: ``with TDXClient(url, TDXAuth(api_key, api_secret)) as tdx:``.

    ``auth`` is a ``TDXAuth`` (each attempt signed afresh) or ``TDXAuth.bearer(jwt)``;
    ``timeout`` seconds or an ``httpx2.Timeout``; ``retries`` a ``RetryPolicy`` or the
    number of retries for GET, PUT and DELETE; ``transport`` an httpx2 transport.
    """

    # Twin of AsyncTDXClient.__init__ (but for the transport type), as httpx2's shells are.
    def __init__(
        self,
        base_url: str | httpx2.URL,
        auth: TDXAuth | TDXBearerAuth,
        *,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        super().__init__(tdx_core(base_url, auth, timeout, retries), None, transport=transport)


class AsyncTDXClient(TDXAPI, AsyncServiceClient[None]):
    """The async ``TDXClient``: the same methods, awaited; ``async with`` or ``aclose()``."""

    # Twin of TDXClient.__init__ (but for the transport type), as httpx2's shells are.
    def __init__(
        self,
        base_url: str | httpx2.URL,
        auth: TDXAuth | TDXBearerAuth,
        *,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(tdx_core(base_url, auth, timeout, retries), None, transport=transport)
