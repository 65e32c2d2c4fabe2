"""URLs as signatures and errors see them: the signed URL of an ASGI request, and a URL
stripped of its query string (which can carry tokens)."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote, urlsplit

from starlette.datastructures import URL
from starlette.types import Scope

_DEFAULT_PORTS = {"http": 80, "https": 443}


def signing_url(url: str) -> str:
    """``scheme://host[:port]/path``: no query string, the port only when not the default."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    return f"{parts.scheme.lower()}://{host}{parts.path or '/'}"


def signed_url(scope: Scope, public_url: str | None = None) -> str:
    """The URL a client signed for this request: scheme, host and the path as sent
    (percent-escapes and all, not the decoded ``scope["path"]``), without the query.

    ``public_url`` replaces the scheme and host, for apps behind a proxy.
    """
    raw_path: bytes | None = scope.get("raw_path")
    path = raw_path.partition(b"?")[0].decode("latin-1") if raw_path else quote(scope["path"])
    if public_url:
        return f"{public_url}{path}"
    url = URL(scope=scope)
    return f"{url.scheme}://{url.netloc}{path}"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address.

    >>> is_loopback("localhost"), is_loopback("127.0.0.2"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
