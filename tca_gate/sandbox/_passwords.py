"""Password hashes for sandbox accounts: salted PBKDF2-SHA256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

_ITERATIONS = 20_000


def hash_password(password: str) -> str:
    """``pbkdf2_sha256$iterations$salt$digest`` for a new password."""
    salt = secrets.token_hex(16)
    digest = _digest(password, salt, _ITERATIONS)
    return f"pbkdf2_sha256${_ITERATIONS}${salt}${digest}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash."""
    _, iterations, salt, digest = stored.split("$")
    return hmac.compare_digest(_digest(password, salt, int(iterations)), digest)


def _digest(password: str, salt: str, iterations: int) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
