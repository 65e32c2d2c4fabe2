"""``Verdict``: what the gate decided for one request, and why."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import Enum

from tca_gate.balances import Holder, HolderKind
from tca_gate.rules import Decision, Rule

_log = logging.getLogger(__name__)


class Outcome(Enum):
    """Why a request was let in or refused; the value is the machine-readable code."""

    ALLOWED = "allowed"
    UNAUTHENTICATED = "unauthenticated"  # no identity: log in first
    IDENTITY_ERROR = "identity-error"  # the identity resolver failed
    UNKNOWN_HOLDER = "unknown-holder"  # the balance source does not know this identity
    INSUFFICIENT_TOKENS = "insufficient-tokens"  # the rule refused the holdings
    RULE_ERROR = "rule-error"  # the rule could not be evaluated on the balances read
    BALANCES_UNAVAILABLE = "balances-unavailable"  # the balances could not be read now

    @property
    def status(self) -> int:
        """The HTTP status a request with this outcome gets."""
        return _STATUS[self]


_STATUS = {
    Outcome.ALLOWED: 200,
    Outcome.UNAUTHENTICATED: 401,
    Outcome.IDENTITY_ERROR: 401,
    Outcome.UNKNOWN_HOLDER: 403,
    Outcome.INSUFFICIENT_TOKENS: 403,
    Outcome.RULE_ERROR: 403,
    Outcome.BALANCES_UNAVAILABLE: 503,
}


#: ``Outcome.ALLOWED`` as a plain global: reading an Enum member off its class is slow.
_ALLOWED = Outcome.ALLOWED


class Verdict:
    """The gate's answer for one request: ``outcome`` (with its HTTP ``status``), the rule
    and its ``name``, the ``holder``, the balances read (``stale`` when served from past
    the TTL because the upstream failed; ``age``, the seconds since they were fetched,
    when known), ``detail`` for people, ``reason`` (the outcome's code) for machines,
    and ``decision``: the rule's full explanation, worked out when first asked for.

    ``username`` names who asked (never ``holder.value``, a login's OAuth token).
    ``allowed`` is true only for ``Outcome.ALLOWED``; ``shadow`` marks a refusal that
    shadow mode let through. True in a boolean context exactly when ``allowed``.
    """

    __slots__ = (
        "_decision",
        "age",
        "balances",
        "detail",
        "holder",
        "name",
        "outcome",
        "rule",
        "shadow",
        "stale",
    )

    def __init__(
        self,
        outcome: Outcome,
        rule: Rule,
        name: str | None = None,
        holder: Holder | None = None,
        balances: Mapping[str, int] | None = None,
        *,
        detail: str = "",
        stale: bool = False,
        shadow: bool = False,
        decision: Decision | None = None,
        age: float | None = None,
    ) -> None:
        self.outcome = outcome
        self.rule = rule
        self.name = name
        self.holder = holder
        self.balances = balances
        self.detail = detail
        self.stale = stale
        self.shadow = shadow
        self._decision = decision
        self.age = age

    @property
    def allowed(self) -> bool:
        """Whether the rule let the holder in."""
        return self.outcome is _ALLOWED

    @property
    def status(self) -> int:
        """200 when allowed, else 401, 403 or 503."""
        return self.outcome.status

    @property
    def reason(self) -> str:
        """The machine-readable code of the outcome, e.g. ``insufficient-tokens``."""
        return self.outcome.value

    @property
    def username(self) -> str:
        """The Tokenpass username of who asked: the logged-in user (``login_identity``,
        the default identity), ``request.user``'s name (``auth_user_identity``) or the
        name a header gave (``header_identity``). There is none for an address list, a
        token without an ``owner`` (``header_identity(kind="token")``) or a request
        without an identity: those raise ``AttributeError`` (``getattr(verdict,
        "username", None)`` asks safely). Use it rather than ``holder.value``, which for
        a login is the user's OAuth token."""
        holder = self.holder
        if holder is not None:
            if holder.kind is HolderKind.USERNAME and isinstance(holder.value, str):
                return holder.value
            if holder.kind is HolderKind.TOKEN and holder.owner:
                return holder.owner
        if holder is None:
            what = "no identity"
        elif holder.kind is HolderKind.ADDRESSES:
            what = "addresses for an identity"
        else:
            what = "an OAuth token whose user is not known for an identity"
        raise AttributeError(f"this verdict has no username: the request had {what}")

    @property
    def decision(self) -> Decision | None:
        """The rule's explanation of the holder's balances; ``None`` when none were read
        (or the rule could not explain them)."""
        if self._decision is None and self.balances is not None:
            try:
                self._decision = self.rule.explain(self.balances)
            except Exception:
                _log.exception("explaining %r failed", self.rule)
                return None
        return self._decision

    def __bool__(self) -> bool:
        return self.allowed

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return (
            f"<Verdict {self.outcome.value}{name} {self.holder!r} rule={self.rule.semantic_hash}>"
        )
