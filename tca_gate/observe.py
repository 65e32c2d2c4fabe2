"""The observation hooks: what the gate, the balance sources, the webhooks and the verifying
middlewares report as they work, for ``tca_gate.metrics`` to count and trace.

Nothing observes by default: ``hooks.observer`` is ``None`` and each hook costs one check.
``tca_gate.metrics.Metrics.install()`` puts one ``Observer`` in place for the process.
Events carry only values chosen in code or configuration (outcomes, rule names, source
names, reason codes), never a token, username, address or signature. This module depends
on nothing, so every layer may report through it.

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
    return old


def refused(reason: str) -> None:
    """Report a refused signed request."""
    if hooks.observer is not None:
        hooks.observer.refused(reason)


def revoked(outcome: Enum, rule: str, kind: str) -> None:
    """Report an open connection closed by the gate."""
    if hooks.observer is not None:
        hooks.observer.revoked(outcome, rule, kind)


def webhook(webhook: str, event: str, outcome: str) -> None:
    """Report how a webhook request ended."""
    if hooks.observer is not None:
        hooks.observer.webhook(webhook, event, outcome)


async def traced(
    name: str, attributes: Mapping[str, Attribute], work: Awaitable[T], outcome: Callable[[T], str]
) -> T:
    """``await work``, inside a span ``name`` when observed, recording ``outcome(result)``."""
    watching = hooks.observer
    if watching is None:
        return await work
    with watching.span(name, attributes) as span:
        done = await work
        span.set_attribute("tca_gate.outcome", outcome(done))
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
            with watching.span("tca_gate.balances.fetch", attributes) as span:
                outcome = "error"
                started = time.perf_counter()
                try:
                    answer = await method(self, holder)
                    outcome = "ok"
                    return answer
                except UnknownHolderError:
                    outcome = "unknown-holder"
                    raise
                except BalanceUnavailableError:
                    outcome = "unavailable"
                    raise
                finally:
                    watching.fetched(source, outcome, time.perf_counter() - started)
                    span.set_attribute("tca_gate.outcome", outcome)

        return observed

    return decorate
