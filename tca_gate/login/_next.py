"""Where to send the user after login or logout: only paths on this site (no open redirect)."""

from __future__ import annotations

from urllib.parse import urlsplit

from tca_gate.errors import LoginError


def safe_next(value: str) -> str:
    """``value`` if it is a same-origin absolute path such as ``/page?x=1``; else a 400 error.

    Browsers drop tabs and newlines and read ``\\`` as ``/``, so a path with those,
    with any control or space character, or starting with ``//`` could leave the site.

    >>> safe_next("/orders?page=2")
    '/orders?page=2'
    >>> try:
    ...     safe_next("//evil.example/")
    ... except LoginError as error:
    ...     print(error.status, error.code)
    400 invalid_next
    """
    parts = urlsplit(value)
    if (
        not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(character) <= 0x20 or ord(character) == 0x7F for character in value)
        or parts.scheme
        or parts.netloc
    ):
        raise LoginError(
            "invalid_next",
            f"'next' must be a path on this site starting with a single '/', not {value!r}.",
            400,
        )
    return value
