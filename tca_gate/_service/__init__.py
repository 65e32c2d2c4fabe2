"""The core every remote service's client is built on (Tokenpass first, the others later).

A service's calls are written once, as functions returning a ``Call`` (request and
answer parser), and exposed as ``Endpoint`` attributes of a shared base; the sync
and async clients add ``SyncServiceClient`` or ``AsyncServiceClient``, which send
each attempt. Retries follow a ``RetryPolicy``; failures raise ``ServiceError``.
"""

from ._call import Call, path
from ._core import DEFAULT_RETRIES, DEFAULT_TIMEOUT, ServiceCore
from ._endpoint import Endpoint
from ._retry import RetryPolicy, RetrySchedule, parse_retry_after
from ._shape import Fields, ShapeError, elements
from ._shells import AsyncServiceClient, SyncServiceClient

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "AsyncServiceClient",
    "Call",
    "Endpoint",
    "Fields",
    "RetryPolicy",
    "RetrySchedule",
    "ServiceCore",
    "ShapeError",
    "SyncServiceClient",
    "elements",
    "parse_retry_after",
    "path",
]
