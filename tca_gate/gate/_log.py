"""The decision log: one structured record per gate decision, never a token or secret.

Records go to the ``tca_gate.decisions`` logger at INFO (refusals) and DEBUG (allows),
with the fields under ``record.tca_gate``: ``outcome``, ``status``, ``identity`` (a
username, addresses, or a token's short SHA-256 fingerprint), ``rule_hash``, ``rule_name``,
``path``, ``stale``, ``shadow`` and, for rule refusals, ``shortfall`` (the summary).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from tca_gate.balances import Holder, HolderKind

from ._verdict import Outcome, Verdict

DECISION_LOGGER = "tca_gate.decisions"
_FINGERPRINT_HEX = 12


def log_decision(logger: logging.Logger, verdict: Verdict, path: str) -> None:
    """Record ``verdict`` for ``path`` (cheap when the logger's level drops it)."""
    level = logging.DEBUG if verdict.allowed else logging.INFO
    if not logger.isEnabledFor(level):
        return
    fields = decision_fields(verdict, path)
    shadow = " (shadow: let through)" if verdict.shadow else ""
    logger.log(
        level,
        "%s %s %s for %s, rule %s%s",
        fields["status"],
        fields["outcome"],
        path,
        fields["identity"],
        fields["rule_hash"],
        shadow,
        extra={"tca_gate": fields},
    )


def decision_fields(verdict: Verdict, path: str) -> dict[str, Any]:
    """The decision record's fields."""
    fields: dict[str, Any] = {
        "outcome": verdict.outcome.value,
        "status": verdict.status,
        "identity": identity_label(verdict.holder),
        "rule_hash": verdict.rule.semantic_hash,
        "rule_name": verdict.name,
        "path": path,
        "stale": verdict.stale,
        "shadow": verdict.shadow,
    }
    if verdict.outcome is Outcome.INSUFFICIENT_TOKENS and verdict.decision is not None:
        fields["shortfall"] = verdict.decision.summary
    return fields


def identity_label(holder: Holder | None) -> str:
    """Who, for the log: ``user:alice``, ``addresses:1A…,1B…``, ``token:<sha256 prefix>``
    (with ``owner`` when the token's user is known); ``-`` for nobody."""
    if holder is None:
        return "-"
    if holder.kind is HolderKind.USERNAME:
        return f"user:{holder.value}"
    if holder.kind is HolderKind.ADDRESSES:
        return "addresses:" + ",".join(holder.value)
    digest = hashlib.sha256(str(holder.value).encode()).hexdigest()[:_FINGERPRINT_HEX]
    owner = getattr(holder, "owner", None)
    return f"token:{digest}" + (f" (user:{owner})" if owner else "")
