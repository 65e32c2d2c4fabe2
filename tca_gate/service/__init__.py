"""The core every remote service's client is built on (Tokenpass first, the others later).

A service's calls are written once, as functions returning a ``Call`` (request and
answer parser), and exposed as ``Endpoint`` attributes of a shared base; the sync
and async clients add ``SyncServiceClient`` or ``AsyncServiceClient``, which send
each attempt. Retries follow a ``RetryPolicy``; failures raise ``ServiceError``.
Answers are read field by field with ``Fields``; ``whole``, ``each`` and ``done`` are
the parsers every service's calls share.
"""

from tca_gate.public import publish

from ._answer import exact_json, malformed, refusal
from ._call import Call, path
from ._core import DEFAULT_RETRIES, DEFAULT_TIMEOUT, ServiceCore
from ._endpoint import Endpoint
from ._params import (
    UNCHANGED,
    Change,
    Unchanged,
    addresses,
    amount,
    changes,
    flag,
    optional_text,
    some,
    text,
    texts,
    unix_seconds,
)
from ._parsers import done, whole
from ._retry import RetryPolicy, RetrySchedule, parse_retry_after
from ._shape import Fields, ShapeError, each, elements
from ._shells import AsyncServiceClient, SyncServiceClient

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "UNCHANGED",
    "AsyncServiceClient",
    "Call",
    "Change",
    "Endpoint",
    "Fields",
    "RetryPolicy",
    "RetrySchedule",
    "ServiceCore",
    "ShapeError",
    "SyncServiceClient",
    "Unchanged",
    "addresses",
    "amount",
    "changes",
    "done",
    "each",
    "elements",
    "exact_json",
    "flag",
    "malformed",
    "optional_text",
    "parse_retry_after",
    "path",
    "refusal",
    "some",
    "text",
    "texts",
    "unix_seconds",
    "whole",
]

publish(__name__, globals(), __all__)
