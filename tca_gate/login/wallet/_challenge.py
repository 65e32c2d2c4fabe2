"""The one-time challenge a wallet signs: made for one session and one site, for minutes.

The session holds the challenge (its random nonce, the site's origin, when it was made
and when it expires); the text the user signs is rebuilt from it, so nothing the browser
sends back can change what was asked. A proof is checked step by step, each refusal a
``LoginError`` whose code says why, and the nonce is claimed in a replay store before
the proof counts: a signature is good for one sign-in, even sent again with an old
cookie that still carries its challenge.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from tca_gate.errors import LoginError, ReplayStoreUnavailableError
from tca_gate.signing.bitcoin import is_signature_text, is_valid_address, verify_message
from tca_gate.signing.replay import AsyncReplayStore, ReplayStore, claim

#: The session key of the challenge in progress.
CHALLENGE_KEY = "tca_gate.wallet.challenge"
#: How long a challenge can be signed, by default (seconds).
DEFAULT_CHALLENGE_TTL = 300.0
#: The prefix of the replay store's keys for used challenges.
_CLAIM_PREFIX = "wallet-challenge:"


@dataclass(frozen=True, slots=True)
class WalletChallenge:
    """A challenge to sign: ``message`` is the exact text, one line (a pasted line break
    cannot change it), naming the site and the times so the user sees what they sign."""

    nonce: str
    origin: str
    issued_at: float
    expires_at: float

    @property
    def message(self) -> str:
        """The text the wallet signs."""
        return (
            f"Sign in to {self.origin} with this Bitcoin address. "
            f"Challenge {self.nonce}, issued {_utc(self.issued_at)}, "
            f"valid until {_utc(self.expires_at)}."
        )

    def to_session(self) -> dict[str, Any]:
        """The challenge as the session keeps it."""
        return {
            "nonce": self.nonce,
            "origin": self.origin,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_session(cls, data: object) -> WalletChallenge | None:
        """The challenge a session keeps; ``None`` when there is none (or not one of ours)."""
        if not isinstance(data, Mapping):
            return None
        nonce, origin = data.get("nonce"), data.get("origin")
        issued_at, expires_at = data.get("issued_at"), data.get("expires_at")
        if not isinstance(nonce, str) or not nonce or not isinstance(origin, str):
            return None
        if not _is_time(issued_at) or not _is_time(expires_at):
            return None
        return cls(nonce, origin, float(issued_at), float(expires_at))


def issue(
    session: MutableMapping[str, Any], origin: str, ttl: float, now: float
) -> WalletChallenge:
    """A new challenge for ``origin``, kept in ``session`` in place of any earlier one."""
    challenge = WalletChallenge(secrets.token_urlsafe(16), origin, now, now + ttl)
    session[CHALLENGE_KEY] = challenge.to_session()
    return challenge


async def redeem(
    session: MutableMapping[str, Any],
    origin: str,
    address: object,
    signature: object,
    *,
    replay: ReplayStore | AsyncReplayStore,
    now: float | None = None,
) -> str:
    """The address that signed the session's challenge, which is then used up; else a
    ``LoginError`` saying why (the challenge stays for another try unless it expired)."""
    now = time.time() if now is None else now
    challenge = WalletChallenge.from_session(session.get(CHALLENGE_KEY))
    if challenge is None:
        raise _refused(
            "no_challenge",
            "This browser has no sign-in challenge to answer: ask for one, sign it, and send "
            "the signature from the same browser.",
        )
    if now >= challenge.expires_at:
        session.pop(CHALLENGE_KEY, None)
        raise _refused(
            "challenge_expired",
            f"The challenge expired at {_utc(challenge.expires_at)}: sign a new one.",
        )
    if origin != challenge.origin:
        raise _refused(
            "wrong_origin",
            f"The challenge was made for {challenge.origin}, not {origin}: sign in on the "
            "site that showed it.",
        )
    if not isinstance(address, str) or not is_valid_address(address.strip()):
        raise _refused(
            "invalid_address",
            "The address is not a Bitcoin P2PKH address (one starting with 1, or m or n on "
            "testnet): sign with a legacy address of your wallet.",
        )
    address = address.strip()
    if not isinstance(signature, str) or not is_signature_text(signature.strip()):
        raise _refused(
            "invalid_signature",
            "The signature is not a Bitcoin signed-message signature (88 characters of "
            "base64): paste the whole signature your wallet gave.",
        )
    if not verify_message(address, challenge.message, signature.strip()):
        raise _refused(
            "signature_mismatch",
            "The signature does not prove that this address signed the challenge shown to "
            "this browser: sign the exact text shown, with this address's key.",
            403,
        )
    await _use_up(challenge, replay, now)
    session.pop(CHALLENGE_KEY, None)
    return address


async def _use_up(
    challenge: WalletChallenge, replay: ReplayStore | AsyncReplayStore, now: float
) -> None:
    key = _CLAIM_PREFIX + hashlib.sha256(challenge.nonce.encode()).hexdigest()
    try:
        fresh = await claim(replay, key, max(1.0, challenge.expires_at - now))
    except ReplayStoreUnavailableError:
        raise LoginError(
            "challenge_store_unavailable",
            "Used challenges cannot be checked right now; try again later.",
            503,
        ) from None
    if not fresh:
        raise _refused(
            "challenge_used",
            "This challenge has already been used to sign in: ask for a new one.",
            403,
        )


def _refused(code: str, description: str, status: int = 400) -> LoginError:
    return LoginError(code, description, status)


def _is_time(value: object) -> TypeGuard[int | float]:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _utc(moment: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(moment))
