"""The observation hooks: what the gate, the balance sources, the webhooks and the verifying
middlewares report as they work, for ``tca_gate.metrics`` to count and trace.

Nothing observes by default: ``hooks.observer`` is ``None`` and each hook costs one check.
``tca_gate.metrics.Metrics.install()`` puts one ``Observer`` in place for the process.
Events carry only values chosen in code or configuration (outcomes, rule names, source
names, reason codes), never a token, username, address or signature. An observer that
raises never changes what the gate answers: its error is logged once (``broken``) and the
work goes on, without its span if the span failed. This module depends on nothing, so
every layer may report through it.

>>> class Seen(Observer):
...     def refused(self, reason):
...         print("refused:", reason)
>>> previous = install(Seen())
>>> refused("bad-signature")
refused: bad-signature
>>> install(previous) is not None, hooks.observer is previous
(True, True)
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextlib import AbstractContextManager
from enum import Enum
from typing import Any, Protocol, TypeVar

from tca_gate.errors import BalanceUnavailableError, UnknownHolderError

T = TypeVar("T")
S = TypeVar("S")
H = TypeVar("H", bound="Held")

#: A balance source's ``balances`` method.
Fetcher = Callable[[S, H], Coroutine[Any, Any, T]]
#: A span attribute's value.
Attribute = str | bool | int | float

_log = logging.getLogger("tca_gate.metrics")


class Span(Protocol):
    """What an observer's span offers the code it wraps."""

    def set_attribute(self, key: str, value: Attribute, /) -> None:
        """Record ``key`` on the span."""


class Held(Protocol):
    """A holder as the fetch hook reads it: its kind and scope, never its value."""

    @property
    def kind(self) -> Enum: ...
    @property
    def scope(self) -> str: ...


#: An observer's span as entered: its context manager and what entering it gave.
Opened = tuple[AbstractContextManager[Span], Span]


class _NoSpan:
    """The span of an observer that does not trace."""

    def set_attribute(self, key: str, value: Attribute, /) -> None:
        """Nothing to record."""


_NO_SPAN = _NoSpan()


class Observer:
    """The events, each a no-op here: an observer overrides those it cares for
    (``tca_gate.metrics.Metrics`` does all of them)."""

    def decision(self, outcome: Enum, rule: str) -> None:
        """The gate decided ``outcome`` (an ``Outcome``) under the rule labelled ``rule``."""

    def span(self, name: str, attributes: Mapping[str, Attribute]) -> AbstractContextManager[Span]:
        """A span around the work the ``with`` block does."""
        return contextlib.nullcontext(_NO_SPAN)

    def fetched(self, source: str, outcome: str, seconds: float) -> None:
        """A balance source answered (``ok``, ``unknown-holder``, ``unavailable``, ``error``)."""

    def webhook(self, webhook: str, event: str, outcome: str) -> None:
        """A webhook request ended: ``accepted``, ``refused``, ``malformed``, ``unavailable``
        or ``failed`` (``event``: the event's name, ``""`` when not read)."""

    def refused(self, reason: str) -> None:
        """A verifying middleware or webhook refused a request with the code ``reason``."""

    def revoked(self, outcome: Enum, rule: str, kind: str) -> None:
        """The gate closed an open connection (``kind``: ``websocket`` or ``stream``) it
        had let in, judged again as ``outcome`` under the rule labelled ``rule``."""


class Hooks:
    """Where the hooks find the observer in force: ``hooks.observer``, ``None`` (nothing
    observed) by default."""

    __slots__ = ("observer",)

    def __init__(self) -> None:
        self.observer: Observer | None = None


#: The one switch every hook reads.
hooks = Hooks()


def install(new: Observer | None) -> Observer | None:
    """Make ``new`` the observer in force (``None``: none); the one it replaces."""
    old, hooks.observer = hooks.observer, new
    _reported.clear()
    return old


#: The kinds of hook failure logged since the observer in force was installed.
_reported: set[str] = set()


def broken(kind: str, error: Exception) -> None:
    """Log, once per ``kind`` for the observer in force, that one of its hooks raised:
    the error's type only, since its message may carry a request's data."""
    if kind not in _reported:
        _reported.add(kind)
        _log.warning(
            "the observer's %s hook raised %s: ignored, the gate answers as without it "
            "(logged once)",
            kind,
            type(error).__qualname__,
        )


def refused(reason: str) -> None:
    """Report a refused signed request."""
    if hooks.observer is not None:
        try:
            hooks.observer.refused(reason)
        except Exception as error:
            broken("refused", error)


def revoked(outcome: Enum, rule: str, kind: str) -> None:
    """Report an open connection closed by the gate."""
    if hooks.observer is not None:
        try:
            hooks.observer.revoked(outcome, rule, kind)
        except Exception as error:
            broken("revoked", error)


def webhook(webhook: str, event: str, outcome: str) -> None:
    """Report how a webhook request ended."""
    if hooks.observer is not None:
        try:
            hooks.observer.webhook(webhook, event, outcome)
        except Exception as error:
            broken("webhook", error)


def _open(watching: Observer, name: str, attributes: Mapping[str, Attribute]) -> Opened | None:
    """``watching``'s span ``name`` entered, or None when it cannot be (the work then runs
    without one)."""
    try:
        context = watching.span(name, attributes)
        return context, context.__enter__()
    except Exception as error:
        broken("span", error)
        return None


def _close(
    opened: Opened | None, outcome: Callable[[], str] | None, error: BaseException | None
) -> None:
    """Record ``outcome()`` on the span and leave it, as the work ended (``error``: what it
    raised); a failure here is logged, never raised over the work's own result or error."""
    if opened is None:
        return
    context, span = opened
    if outcome is not None:
        try:
            span.set_attribute("tca_gate.outcome", outcome())
        except Exception as failure:
            broken("span", failure)
    try:
        if error is None:
            context.__exit__(None, None, None)
        else:
            context.__exit__(type(error), error, error.__traceback__)
    except Exception as failure:
        if failure is not error:
            broken("span", failure)


async def traced(
    name: str, attributes: Mapping[str, Attribute], work: Awaitable[T], outcome: Callable[[T], str]
) -> T:
    """``await work``, inside a span ``name`` when observed, recording ``outcome(result)``."""
    watching = hooks.observer
    if watching is None:
        return await work
    opened = _open(watching, name, attributes)
    try:
        done = await work
    except BaseException as error:
        _close(opened, None, error)
        raise
    _close(opened, lambda: outcome(done), None)
    return done


def fetch(source: str) -> Callable[[Fetcher[S, H, T]], Fetcher[S, H, T]]:
    """Decorate a balance source's ``balances(holder)``: when observed, each call is a
    ``tca_gate.balances.fetch`` span and is counted and timed under ``source``."""

    def decorate(method: Fetcher[S, H, T]) -> Fetcher[S, H, T]:
        @functools.wraps(method)
        async def observed(self: S, holder: H) -> T:
            watching = hooks.observer
            if watching is None:
                return await method(self, holder)
            attributes = {
                "tca_gate.source": source,
                "tca_gate.holder_kind": str(holder.kind.value),
                "tca_gate.scope": holder.scope,
            }
            opened = _open(watching, "tca_gate.balances.fetch", attributes)
            started = time.perf_counter()
            try:
                answer = await method(self, holder)
            except UnknownHolderError as error:
                _fetched(
                    watching, source, "unknown-holder", started=started, opened=opened, error=error
                )
                raise
            except BalanceUnavailableError as error:
                _fetched(
                    watching, source, "unavailable", started=started, opened=opened, error=error
                )
                raise
            except BaseException as error:
                _fetched(watching, source, "error", started=started, opened=opened, error=error)
                raise
            _fetched(watching, source, "ok", started=started, opened=opened, error=None)
            return answer

        return observed

    return decorate


def _fetched(
    watching: Observer,
    source: str,
    outcome: str,
    *,
    started: float,
    opened: Opened | None,
    error: BaseException | None,
) -> None:
    """Report a fetch that ended as ``outcome`` and close its span; never raises."""
    try:
        watching.fetched(source, outcome, time.perf_counter() - started)
    except Exception as failure:
        broken("fetched", failure)
    _close(opened, lambda: outcome, error)
