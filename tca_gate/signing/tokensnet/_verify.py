"""The server side of Tokens.net signing: check a request's ``key``, ``nonce`` and
``signature`` headers and that its nonce is above the key's last one.

The signature covers only the nonce and the key (the document's scheme): it does not
bind the method, path, query or body, so a server must rely on TLS for those.
"""

from __future__ import annotations

import hmac
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from tca_gate.errors import TokensNetSignatureError

from ._scheme import KEY_HEADER, NONCE_HEADER, REASONS, SIGNATURE_HEADER, tokensnet_signature

_NONCE = re.compile(r"[0-9]{1,30}")


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """Whose request it is and the nonce it used."""

    api_key: str
    nonce: int


class NonceLedger:
    """The last nonce each key used; ``claim`` is atomic, so one nonce passes once."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()

    def last(self, api_key: str) -> int | None:
        """The last nonce ``api_key`` used, ``None`` before its first request."""
        with self._lock:
            return self._last.get(api_key)

    def claim(self, api_key: str, nonce: int) -> bool:
        """Record ``nonce`` if it is above the key's last; ``False`` if it is not."""
        with self._lock:
            last = self._last.get(api_key)
            if last is not None and nonce <= last:
                return False
            self._last[api_key] = nonce
            return True


def verify_tokensnet_request(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    secret_for: Callable[[str], str | None] | Mapping[str, str],
    ledger: NonceLedger | None,
) -> VerifiedRequest:
    """The verified key and nonce of a request's headers, or ``TokensNetSignatureError``.

    Checks in order: the headers are there (100, 101, 102), the nonce is an integer
    (110), the key is known (120), the signature (uppercase hex) matches (121), and
    only then the nonce is above the key's last (111) and recorded in ``ledger`` (so a
    forged request never uses up a nonce). ``ledger=None`` skips the nonce order.

    >>> key, secret = "k1", "s1"
    >>> from ._scheme import signing_headers
    >>> verify_tokensnet_request(signing_headers(key, secret, 7), secret_for={key: secret},
    ...                          ledger=NonceLedger())
    VerifiedRequest(api_key='k1', nonce=7)
    """
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    found = {name.lower(): value for name, value in pairs}
    api_key, nonce_text, signature = (
        found.get(KEY_HEADER),
        found.get(NONCE_HEADER),
        found.get(SIGNATURE_HEADER),
    )
    if not api_key:
        raise TokensNetSignatureError(100, REASONS[100])
    if not nonce_text:
        raise TokensNetSignatureError(101, REASONS[101])
    if not signature:
        raise TokensNetSignatureError(102, REASONS[102])
    if not _NONCE.fullmatch(nonce_text):
        raise TokensNetSignatureError(110, REASONS[110])
    nonce = int(nonce_text)
    secret = secret_for.get(api_key) if isinstance(secret_for, Mapping) else secret_for(api_key)
    if not secret:
        raise TokensNetSignatureError(120, REASONS[120])
    expected = tokensnet_signature(secret, nonce, api_key)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise TokensNetSignatureError(121, REASONS[121])
    if ledger is not None and not ledger.claim(api_key, nonce):
        raise TokensNetSignatureError(111, REASONS[111])
    return VerifiedRequest(api_key, nonce)
