"""The two shells that run calls: ``SyncServiceClient`` and ``AsyncServiceClient``.

Everything but sending is in ``ServiceCore`` and ``read_answer``; the shells only
send each attempt (the auth below the retry loop signs each one afresh).
"""

from __future__ import annotations

from types import TracebackType
from typing import Generic, Self, TypeVar

import httpx
import stamina

from ._answer import failures_mapped, read_answer
from ._call import Call
from ._core import ServiceCore

T = TypeVar("T")
C = TypeVar("C")


class SyncServiceClient(Generic[C]):
    """Runs calls on an ``httpx.Client``; ``context`` is what a service's calls are built from."""

    def __init__(
        self, core: ServiceCore, context: C, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._core = core
        self.context = context
        self._http = httpx.Client(transport=transport, **core.client_options())
        self._retrying = stamina.RetryingCaller(**core.retries.stamina_options()).on(
            core.retries.backoff_for
        )

    @property
    def base_url(self) -> httpx.URL:
        """The service's base URL."""
        return self._core.base_url

    def _run(self, call: Call[T]) -> T:
        request = self._core.build(self._http, call)
        if self._core.retried(call):
            return self._retrying(self._attempt, call, request)
        return self._attempt(call, request)

    def _attempt(self, call: Call[T], request: httpx.Request) -> T:
        with failures_mapped(self._core.service, request):
            response = self._http.send(request, auth=self._core.auth_for(call))
        return read_answer(self._core.service, call, response)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncServiceClient(Generic[C]):
    """Runs calls on an ``httpx.AsyncClient``; the async twin of ``SyncServiceClient``."""

    def __init__(
        self,
        core: ServiceCore,
        context: C,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._core = core
        self.context = context
        self._http = httpx.AsyncClient(transport=transport, **core.client_options())
        self._retrying = stamina.AsyncRetryingCaller(**core.retries.stamina_options()).on(
            core.retries.backoff_for
        )

    @property
    def base_url(self) -> httpx.URL:
        """The service's base URL."""
        return self._core.base_url

    async def _run(self, call: Call[T]) -> T:
        request = self._core.build(self._http, call)
        if self._core.retried(call):
            return await self._retrying(self._attempt, call, request)
        return await self._attempt(call, request)

    async def _attempt(self, call: Call[T], request: httpx.Request) -> T:
        with failures_mapped(self._core.service, request):
            response = await self._http.send(request, auth=self._core.auth_for(call))
        return read_answer(self._core.service, call, response)

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
