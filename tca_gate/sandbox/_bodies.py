"""Request bodies read with a size cap: refused by ``Content-Length`` first, then while streaming.

A body over the cap is a 413 before it is buffered whole, for the API's JSON
bodies and the OAuth forms alike.
"""

from __future__ import annotations

from starlette.requests import Request

from ._api_error import ApiError

#: The largest API body (JSON or form), in bytes.
MAX_BODY = 1024 * 1024
#: The largest OAuth form (authorize, token exchange), in bytes.
MAX_FORM = 64 * 1024


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body; 413 naming ``body`` when it is, or says it is, over ``limit`` bytes."""
    declared = request.headers.get("content-length", "").strip()
    if declared and (not declared.isdigit() or int(declared) > limit):
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"the body is larger than {limit} bytes", field="body")
