"""``ServiceCore``: what the sync and async shells share, from a ``Call`` to its request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import httpx2

from tca_gate.__version__ import __version__
from tca_gate.errors import InvalidArgumentError, ServiceError
from tca_gate.signing.tokenly import params_json

from ._answer import read_answer
from ._call import Call
from ._retry import RetryPolicy

T = TypeVar("T")

#: A service's own reading of an answer: ``(call, response, retry)`` to the call's value,
#: raising its ``ServiceError`` for a refusal or a malformed answer.
AnswerReader = Callable[[Call[Any], httpx2.Response, bool], Any]

#: Connect within 5 s; every other wait (a read, a write, a free connection) up to 15 s.
DEFAULT_TIMEOUT = httpx2.Timeout(15.0, connect=5.0)

#: Three retries of idempotent calls, backing off from 0.2 s to at most 5 s.
DEFAULT_RETRIES = RetryPolicy()

_JSON_HEADERS = {"Content-Type": "application/json"}

#: Sent with every call, so a service's operators can tell who is calling.
USER_AGENT = f"tca-gate/{__version__}"


class ServiceCore:
    """A service's name and base URL, the auth for signed calls, timeouts and retry policy."""

    def __init__(
        self,
        service: str,
        base_url: str | httpx2.URL,
        *,
        auth: httpx2.Auth | None = None,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        reader: AnswerReader | None = None,
        errors: Mapping[int, type[ServiceError]] | None = None,
    ) -> None:
        try:
            url = httpx2.URL(base_url)
        except (httpx2.InvalidURL, TypeError):
            url = httpx2.URL()
        if url.scheme not in ("http", "https") or not url.host:
            raise InvalidArgumentError(
                f"base_url must be the http(s) URL of {service}, not {str(base_url)!r}"
            )
        if url.userinfo:  # said without the URL: it holds a password
            raise InvalidArgumentError(
                f"base_url of {service} carries a user or password, which would show in "
                "every logged request line and repr: give the credentials another way"
            )
        self.service = service
        self.base_url = url
        self.auth = auth
        self.timeout = _timeout(timeout)
        self.retries = RetryPolicy.of(retries)
        self._reader = reader
        self.errors = dict(errors or {})

    def read(self, call: Call[T], response: httpx2.Response, *, retry: bool) -> T:
        """The value of an answer to ``call``, or its ``ServiceError``: the ``reader``
        given (a service with its own answer format), else the shared ``read_answer``
        with the service's own ``errors`` classes by status."""
        if self._reader is not None:
            return cast(T, self._reader(call, response, retry))
        return read_answer(self.service, call, response, retry=retry, errors=self.errors)

    def client_options(self) -> dict[str, Any]:
        """The options an ``httpx2.Client`` or ``httpx2.AsyncClient`` is opened with."""
        return {
            "base_url": self.base_url,
            "timeout": self.timeout,
            "headers": {"Accept": "application/json", "User-Agent": USER_AGENT},
            "follow_redirects": False,
        }

    def build(self, http: httpx2.Client | httpx2.AsyncClient, call: Call[Any]) -> httpx2.Request:
        """The request for ``call``; built once, sent (and re-signed) on every attempt."""
        if call.json is not None:
            return http.build_request(
                call.method,
                call.path,
                params=list(call.query),
                content=params_json(call.json).encode(),
                headers=_JSON_HEADERS,
            )
        return http.build_request(call.method, call.path, params=list(call.query), data=call.form)

    def auth_for(self, call: Call[Any]) -> httpx2.Auth | None:
        """The auth that signs ``call``, or none for unsigned calls."""
        return self.auth if call.signed else None

    def retried(self, call: Call[Any]) -> bool:
        """Whether failed attempts of ``call`` are tried again."""
        return call.idempotent and self.retries.retries > 0


def _timeout(value: object) -> httpx2.Timeout:
    """An ``httpx2.Timeout`` from seconds (a number that is not negative), ``None`` or itself."""
    if isinstance(value, httpx2.Timeout):
        return value
    if value is None:
        return httpx2.Timeout(None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InvalidArgumentError(
            f"timeout must be seconds (a number, not negative), None or an httpx2.Timeout, "
            f"not {value!r}"
        )
    return httpx2.Timeout(float(value))
