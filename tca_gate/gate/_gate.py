"""``Gate``: the one place a request is judged, shared by the middleware, the decorator
and the FastAPI dependency so that all three decide (and refuse) alike."""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from starlette.requests import HTTPConnection
from starlette.responses import Response

from tca_gate.balances import (
    BalanceReading,
    BalanceSource,
    BalanceUnavailableError,
    Holder,
    HolderKind,
    IdentityResolver,
    Scope,
    UnknownHolderError,
    read_only_balances,
)
from tca_gate.errors import InvalidArgumentError
from tca_gate.observe import broken, hooks, traced
from tca_gate.rules import DIALECTS, Dialect, Rule, RuleSource, compile_rule

from ._identity import check_wiring, config_errors, default_identity
from ._log import DECISION_LOGGER, log_decision
from ._responses import is_same_origin_path, mark_private, refusal
from ._verdict import Outcome, Verdict


class RefusalRenderer(Protocol):
    """``Gate(on_refusal=...)``: answers refused requests the app's own way, sync or async.

    It is called with the request (a ``WebSocket`` for a websocket) and the ``Verdict``
    for every refusal, whatever its status:

    - 401 (``unauthenticated``, ``identity-error``): ``verdict.holder`` may be ``None``;
    - 403 (``insufficient-tokens``): ``verdict.decision`` says what is missing
      (``decision.summary``); ``unknown-holder`` and ``rule-error`` have no decision;
    - 503 (``balances-unavailable``): nothing was read, ``verdict.decision`` is ``None``.

    Return a ``Response`` (made private and uncacheable, whatever its status) or ``None``
    to keep the gate's own answer (JSON, a page, or a 303 to the login); if it raises,
    the gate's own answer is sent and the error logged.

    >>> from starlette.responses import PlainTextResponse
    >>> async def refusal_page(request, verdict):
    ...     if verdict.decision is None:  # 401 and 503: the gate's own answer
    ...         return None
    ...     return PlainTextResponse(verdict.decision.summary, status_code=verdict.status)
    """

    def __call__(
        self, request: HTTPConnection, verdict: Verdict, /
    ) -> Response | Awaitable[Response | None] | None:
        """The response to ``request``, refused as ``verdict`` says, or ``None``."""


_log = logging.getLogger(__name__)

#: ``Outcome.ALLOWED`` as a plain global: reading an Enum member off its class is slow.
_ALLOWED = Outcome.ALLOWED


class _Decided:
    """``_at_once``'s verdict, told apart from whatever a resolver may answer."""

    __slots__ = ("verdict",)

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict


#: The identity resolver raised (already logged).
IDENTITY_FAILED = object()


class Gate:
    """Judges requests against rules: who is asking (``identity``), what they hold
    (``balances``, best a ``CachedBalances`` or ``RedisCachedBalances``), and the rule.

    - no identity, or the resolver failed: 401 (browsers are sent to ``login_url``);
    - the balance source does not know them: 403 (a refused login token: 401);
    - the rule refuses: 403 with what is missing (an error evaluating it: 403 too);
    - the balances cannot be read (the source, the cache or Redis failed, however): 503.

    Nothing but a rule that passes on balances actually read lets a request in.
    ``login_url`` (a path on this site, or ``""`` for none) is where browsers without a
    login are sent; ``on_refusal(request, verdict)`` (a ``RefusalRenderer``) may answer
    refusals itself, 401, 403 and 503 alike (return ``None`` to keep the gate's own);
    ``decision_log`` receives a record of every refusal, and of every allow too with
    ``log_allows=True`` (off by default: allows are the bulk of the traffic, and the hot
    path then does no logging work at all).
    ``shadow=True`` judges and logs as usual but lets refused requests through (the
    verdict says ``shadow``; they gain no ``tca`` scope, so Starlette's ``requires``
    still answers them 403), to try a rule on live traffic before enforcing it.
    With neither ``identity`` nor ``scope`` the gate decides as Tokenpass's ``tca/check``: the
    login is read in the ``protected`` scope (private addresses included; a login not
    granted ``private-balances`` is a 500 naming the fix), else ``request.user``, by
    username: public addresses only; private addresses and promises to user:{name} are
    not seen. ``scope`` picks the balances the default identity reads instead.
    Open websockets (and streams on ``revocable`` paths) are judged again when the cache
    forgets their holder, and every ``recheck`` seconds (by default the cache's ``ttl``,
    else 30): see "Revoking access" in the docs.
    """

    def __init__(
        self,
        balances: BalanceSource,
        *,
        identity: IdentityResolver | None = None,
        scope: Scope | None = None,
        login_url: str = "/auth/login",
        shadow: bool = False,
        dialect: Dialect = "strict",
        decision_log: logging.Logger | None = None,
        log_allows: bool = False,
        on_refusal: RefusalRenderer | None = None,
        recheck: float | None = None,
    ) -> None:
        if not callable(getattr(balances, "balances", None)):
            raise InvalidArgumentError(
                f"balances must be a BalanceSource (with async balances(holder)), "
                f"not {type(balances).__name__}"
            )
        if identity is not None and not callable(identity):
            raise InvalidArgumentError("identity must be a callable taking the request")
        if not isinstance(login_url, str) or (login_url and not is_same_origin_path(login_url)):
            raise InvalidArgumentError(
                f"login_url must be a path on this site (one leading '/'), not {login_url!r}"
            )
        if dialect not in DIALECTS:
            raise InvalidArgumentError(f"dialect must be 'strict' or 'tokenpass', not {dialect!r}")
        if on_refusal is not None and not callable(on_refusal):
            raise InvalidArgumentError("on_refusal must be a callable taking (request, verdict)")
        if recheck is None:
            recheck = _default_recheck(balances)
        elif (
            isinstance(recheck, bool)
            or not isinstance(recheck, int | float)
            or not (0 < recheck < math.inf)
        ):
            raise InvalidArgumentError(
                f"recheck must be a positive number of seconds (how often open websockets "
                f"are judged again), not {recheck!r}"
            )
        self.balances = balances
        #: Seconds between two judgements of every open websocket (``_revocation``).
        self.recheck = float(recheck)
        self.identity = identity if identity is not None else default_identity(scope)
        self.login_url = login_url
        self.shadow = bool(shadow)
        self.dialect = dialect
        self.decision_log = decision_log or logging.getLogger(DECISION_LOGGER)
        self.log_allows = bool(log_allows)
        self.on_refusal = on_refusal
        #: What a resolver raises for a mistake in the app's setup: let through, as a 500.
        self.config_errors = config_errors()
        # a cache's own methods only: not ones a wrapper source passes on from what it wraps
        # (through __getattr__), which would skip the wrapper's own judgement
        peek = _own_method(balances, "peek")
        self._peek: Callable[[Holder], Mapping[str, int] | None] | None = peek
        self._read = _own_method(balances, "read")

    def __repr__(self) -> str:
        shadow = ", shadow=True" if self.shadow else ""
        return f"Gate({self.balances!r}{shadow})"

    def rule(self, rule: RuleSource) -> Rule:
        """``rule`` compiled in the gate's dialect (a ``Rule`` is returned as it is)."""
        return compile_rule(rule, self.dialect)

    async def check(self, conn: HTTPConnection, rule: Rule, name: str | None = None) -> Verdict:
        """Judge the request ``conn`` against ``rule``; never raises for a request's sake
        (a failure anywhere is a refusal), and logs the decision. An app set up wrong (the
        login identity, but no session in the request) raises ``GateConfigError``: a 500
        naming the fix, not a 401 that would send browsers round the login for ever.

        The common case (a resolver answering at once, a fresh answer in an in-process
        cache, a rule that passes) is decided without awaiting anything.
        """
        answer = self._at_once(conn, rule, name)
        if answer.__class__ is _Decided:
            verdict = answer.verdict
        else:
            verdict = await self._settle(conn, rule, name, answer)
        if hooks.observer is not None:
            try:
                hooks.observer.decision(verdict.outcome, name or "-")
            except Exception as error:
                broken("decision", error)
        return verdict

    async def _settle(
        self, conn: HTTPConnection, rule: Rule, name: str | None, answer: object
    ) -> Verdict:
        """``check`` past ``_at_once``: the verdict the long way, shadowed and logged."""
        fields = {"tca_gate.rule": name or "-", "tca_gate.rule_hash": rule.semantic_hash}
        judging = self._judge(rule, name, answer)
        verdict = await traced("tca_gate.decision", fields, judging, _reason)
        if verdict.outcome is Outcome.UNAUTHENTICATED:
            check_wiring(self.identity, conn.scope)
        if self.shadow and verdict.outcome is not Outcome.ALLOWED:
            verdict.shadow = True
        if verdict.outcome is not Outcome.ALLOWED or self.log_allows:
            self._log(verdict, conn)
        return verdict

    def _at_once(self, conn: HTTPConnection, rule: Rule, name: str | None = None) -> object:
        """The allowed verdict (as ``_Decided``) when it can be had without waiting (a
        resolver answering at once, a fresh answer in an in-process cache, a rule that
        passes), else the resolver's answer, for ``_settle`` to finish with. Never raises.

        ``TcaGateMiddleware`` runs the same steps inlined, on its hot path: keep them alike.
        """
        try:
            answer: object = self.identity(conn)
        except self.config_errors:
            raise  # the app is set up wrong: a 500 naming the fix, not a refusal
        except Exception:
            _log.exception("the identity resolver failed: refusing the request")
            return IDENTITY_FAILED
        peek = self._peek
        if peek is not None and answer.__class__ is Holder:
            try:
                balances = peek(answer)
                if balances is not None and rule.evaluate(balances) is True:
                    verdict = Verdict(_ALLOWED, rule, name, answer, balances)
                    if self.log_allows:
                        self._log(verdict, conn)
                    return _Decided(verdict)
            except Exception:  # noqa: S110 (judged again by _settle, which reports it)
                pass
        return answer

    def _log(self, verdict: Verdict, conn: HTTPConnection) -> None:
        try:
            log_decision(self.decision_log, verdict, conn.scope.get("path", ""))
        except Exception:
            _log.exception("logging the decision failed")

    def deny_response(
        self, conn: HTTPConnection, verdict: Verdict, *, login_url: str | None = None
    ) -> Response:
        """The gate's own response to a refused ``verdict``, negotiated by ``Accept``: a
        303 to ``login_url`` (by default the gate's) for browsers without a login, a page
        for other browser refusals, JSON otherwise; always private and uncacheable."""
        return refusal(conn, verdict, self.login_url if login_url is None else login_url)

    async def refuse(
        self, conn: HTTPConnection, verdict: Verdict, *, login_url: str | None = None
    ) -> Response:
        """The response for a refused ``verdict``: ``on_refusal``'s, else (or if it fails)
        ``deny_response``. Either way it is marked private and uncacheable."""
        if self.on_refusal is not None:
            try:
                answer = self.on_refusal(conn, verdict)
                if inspect.isawaitable(answer):
                    answer = await answer
            except Exception:
                _log.exception("on_refusal failed: answering with the gate's own refusal")
                answer = None
            if isinstance(answer, Response):
                mark_private(answer.headers)
                return answer
            if answer is not None:
                _log.error("on_refusal gave %s, not a Response", type(answer).__name__)
        return self.deny_response(conn, verdict, login_url=login_url)

    async def _judge(self, rule: Rule, name: str | None, answer: object) -> Verdict:
        """The verdict the long way, from the resolver's ``answer`` (a holder, ``None``,
        something to await, or ``IDENTITY_FAILED``)."""
        unread = Verdict(
            Outcome.IDENTITY_ERROR, rule, name=name, detail="Your identity could not be read."
        )
        if answer is IDENTITY_FAILED:
            return unread
        try:
            holder = answer if answer is None else await self._awaited_holder(answer)
        except self.config_errors:
            raise
        except Exception:
            _log.exception("the identity resolver failed: refusing the request")
            return unread
        if holder is None:
            return Verdict(
                Outcome.UNAUTHENTICATED, rule, name=name, detail="Log in to see this page."
            )
        try:
            balances, stale, age = await self._balances_of(holder)
        except UnknownHolderError:
            if holder.kind is HolderKind.TOKEN:
                return Verdict(
                    Outcome.IDENTITY_ERROR,
                    rule,
                    name=name,
                    holder=holder,
                    detail="Tokenpass no longer accepts your login: log in again.",
                )
            return Verdict(
                Outcome.UNKNOWN_HOLDER,
                rule,
                name=name,
                holder=holder,
                detail="No token holdings are known for you.",
            )
        except Exception as error:  # the source, the cache or Redis failed: fail closed
            if not isinstance(error, BalanceUnavailableError):
                _log.exception("reading balances failed: refusing the request")
            return Verdict(
                Outcome.BALANCES_UNAVAILABLE,
                rule,
                name=name,
                holder=holder,
                detail="Your token balances cannot be read right now; try again shortly.",
            )
        try:
            allowed = rule.evaluate(balances) is True
        except Exception:
            _log.exception("evaluating %r failed: refusing the request", rule)
            return Verdict(
                Outcome.RULE_ERROR,
                rule,
                name=name,
                holder=holder,
                stale=stale,
                age=age,
                detail="This page's rule could not be checked against your holdings.",
            )
        verdict = Verdict(
            Outcome.ALLOWED if allowed else Outcome.INSUFFICIENT_TOKENS,
            rule,
            name=name,
            holder=holder,
            balances=balances,
            stale=stale,
            age=age,
        )
        if not allowed:
            verdict.detail = _shortfall(verdict)
        return verdict

    async def _awaited_holder(self, answer: object) -> Holder | None:
        """The resolver's answer, awaited if it can be; it must be a ``Holder`` or ``None``."""
        if inspect.isawaitable(answer):
            answer = await answer
        if answer is not None and not isinstance(answer, Holder):
            raise TypeError(f"the identity resolver gave {type(answer).__name__}, not a Holder")
        return answer

    async def _balances_of(self, holder: Holder) -> tuple[Mapping[str, int], bool, float]:
        """The holder's balances, whether they are stale, and their age. A cache's reading
        (checked by the cache) is taken as it is; a bare source's answer, read just now,
        is checked here."""
        if self._read is not None:
            reading = await self._read(holder)
            if not isinstance(reading, BalanceReading):
                raise TypeError(f"{self.balances!r}.read gave {type(reading).__name__}")
            return reading.balances, reading.stale is True, reading.age
        answer = await self.balances.balances(holder)
        return read_only_balances(answer, repr(self.balances)), False, 0.0


#: ``recheck`` for a balance source without a ``ttl`` of its own.
DEFAULT_RECHECK = 30.0


def _default_recheck(balances: object) -> float:
    """The cache's ``ttl`` (a refreshed answer is then seen within two TTLs), else 30 s."""
    ttl = getattr(balances, "ttl", None)
    if isinstance(ttl, int | float) and not isinstance(ttl, bool) and 0 < ttl < math.inf:
        return float(ttl)
    return DEFAULT_RECHECK


def _own_method(balances: object, name: str) -> Callable[..., Any] | None:
    """``balances``'s method ``name`` if its class defines one, else ``None``."""
    if not callable(getattr(type(balances), name, None)):
        return None
    method: Callable[..., Any] = getattr(balances, name)
    return method


def _shortfall(verdict: Verdict) -> str:
    decision = verdict.decision
    if decision is None:
        return "Your token holdings do not meet this page's rule."
    return decision.summary


def _reason(verdict: Verdict) -> str:
    return verdict.reason
