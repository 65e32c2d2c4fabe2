"""The two shells that run calls: ``SyncServiceClient`` and ``AsyncServiceClient``.

Everything but sending is in ``ServiceCore`` and ``read_answer``; the shells only
send each attempt (the auth below the retry loop signs each one afresh). stamina
runs the retries, with a ``RetrySchedule`` per call for the waits and the deadline.
"""

from __future__ import annotations

from types import TracebackType
from typing import Generic, Self, TypeVar

import httpx2
import stamina

from tca_gate.errors import ClientClosedError
from tca_gate.wire.urls import signing_url

from ._answer import failures_mapped
from ._call import Call
from ._core import ServiceCore
from ._retry import RetrySchedule

T = TypeVar("T")
C = TypeVar("C")


def closed(service: str, request: httpx2.Request) -> ClientClosedError:
    """The error for a call made on a closed client."""
    return ClientClosedError(
        "the client is closed; open a new one",
        service=service,
        method=request.method,
        url=signing_url(str(request.url)),
    )


class SyncServiceClient(Generic[C]):
    """Runs calls on an ``httpx2.Client``; ``context`` is what a service's calls are built from."""

    # Twin of AsyncServiceClient (but for await and the async types), as httpx2's shells are.
    def __init__(
        self, core: ServiceCore, context: C, *, transport: httpx2.BaseTransport | None = None
    ) -> None:
        self._core = core
        self.context = context
        self._http = httpx2.Client(transport=transport, **core.client_options())

    @property
    def base_url(self) -> httpx2.URL:
        """The service's base URL."""
        return self._core.base_url

    def _run(self, call: Call[T]) -> T:
        request = self._core.build(self._http, call)
        if self._http.is_closed:
            raise closed(self._core.service, request)
        if not self._core.retried(call):
            return self._attempt(call, request, retry=False)
        schedule = RetrySchedule(self._core.retries)

        def attempt() -> T:
            return self._attempt(call, request, retry=schedule.retries > 0)

        retrying = stamina.RetryingCaller(**self._core.retries.stamina_options())
        return retrying.on(schedule.backoff_for)(attempt)

    def _attempt(self, call: Call[T], request: httpx2.Request, *, retry: bool) -> T:
        with failures_mapped(self._core.service, request):
            response = self._http.send(request, auth=self._core.auth_for(call))
        return self._core.read(call, response, retry=retry)

    def close(self) -> None:
        """Close the connections; later calls raise ``ClientClosedError``."""
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
    """Runs calls on an ``httpx2.AsyncClient``; the async twin of ``SyncServiceClient``."""

    # Twin of SyncServiceClient (but for await and the async types), as httpx2's shells are.
    def __init__(
        self,
        core: ServiceCore,
        context: C,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self._core = core
        self.context = context
        self._http = httpx2.AsyncClient(transport=transport, **core.client_options())

    @property
    def base_url(self) -> httpx2.URL:
        """The service's base URL."""
        return self._core.base_url

    async def _run(self, call: Call[T]) -> T:
        request = self._core.build(self._http, call)
        if self._http.is_closed:
            raise closed(self._core.service, request)
        if not self._core.retried(call):
            return await self._attempt(call, request, retry=False)
        schedule = RetrySchedule(self._core.retries)

        async def attempt() -> T:
            return await self._attempt(call, request, retry=schedule.retries > 0)

        retrying = stamina.AsyncRetryingCaller(**self._core.retries.stamina_options())
        return await retrying.on(schedule.backoff_for)(attempt)

    async def _attempt(self, call: Call[T], request: httpx2.Request, *, retry: bool) -> T:
        with failures_mapped(self._core.service, request):
            response = await self._http.send(request, auth=self._core.auth_for(call))
        return self._core.read(call, response, retry=retry)

    async def aclose(self) -> None:
        """Close the connections; later calls raise ``ClientClosedError``."""
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
