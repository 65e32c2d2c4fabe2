"""Revoking access: open websockets, and streams on ``revocable`` paths, judged again while
they last, and closed once refused.

A guard runs each connection it lets in through ``watched`` (the middleware, the
decorator: the app's messages pass through it) or within ``watching`` (the FastAPI
dependency, done before the route runs), which keep it in its gate's ``Revocations``
until it ends. The gate's cache tells of every answer it withdraws (its ``changes``
feed): the connections of the holders a ``Change`` concerns are judged again at once,
through the cache (one read per holder and rule, however many connections). Every
``Gate.recheck`` seconds all of them are, which catches what no change told of (a TTL
refresh, a feed that missed one, a source with no feed). Refused, a websocket is closed
with 1008, a stream is ended; the app's sends after that fail, as after the client left.
Balances that cannot be read (or not within ``deadline``) close it with 1013 ("try again
later"), once they have not let it in for the cache's ``stale_for``. Each holder and
rule is judged once at a time: a judgement wanted meanwhile runs when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable

from starlette.requests import ClientDisconnect, HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from tca_gate.balances import Change, Holder
from tca_gate.observe import revoked as report_revoked
from tca_gate.rules import Rule

from ._gate import Gate
from ._verdict import Outcome, Verdict

#: The close code of a websocket its holder's rule now refuses (policy violation).
REFUSED_CODE = 1008
#: The close code of a websocket whose holder's balances cannot be read now (try again later).
UNAVAILABLE_CODE = 1013
#: How many judgements run at once in a sweep or after a change (each may call the upstream).
AT_ONCE = 16
#: The longest a judgement may take (``Gate.recheck`` when shorter): a read that has not
#: answered by then counts as balances that cannot be read.
DEADLINE = 10.0

#: The messages that end a connection, either way.
_ENDINGS = frozenset({"websocket.close", "websocket.disconnect", "http.disconnect"})
#: What the app may raise once its connection was closed under it (then not its error).
_CLOSED_UNDER_IT = (OSError, WebSocketDisconnect, ClientDisconnect)

#: What one judgement covers: a holder, a rule (by identity) and the rule's name.
_Group = tuple[Holder, int, str | None]

_log = logging.getLogger(__name__)


class Watched:
    """One open connection a guard let in: whose it is, the rule it passed, and the server's
    ``send``, which the app reaches only through ``send`` here (one message at a time, so a
    close never cuts into one of the app's)."""

    __slots__ = (
        "_lock",
        "_receive",
        "_send",
        "_started",
        "allowed_at",
        "conn",
        "ended",
        "holder",
        "name",
        "revoked",
        "rule",
        "websocket",
    )

    def __init__(self, conn: HTTPConnection, verdict: Verdict, receive: Receive, send: Send):
        if verdict.holder is None:
            raise ValueError("only a connection let in, with a holder, can be watched")
        self.conn = conn
        self.holder: Holder = verdict.holder
        self.rule: Rule = verdict.rule
        self.name = verdict.name
        self.websocket = conn.scope["type"] == "websocket"
        #: The outcome the gate closed the connection for, once it did.
        self.revoked: Outcome | None = None
        #: Whether the connection is over (closed by either side, or the gate).
        self.ended = False
        #: When the holder's balances, read afresh, last let the connection in (monotonic):
        #: for a stale answer, when it was read.
        self.allowed_at = time.monotonic() - ((verdict.age or 0.0) if verdict.stale else 0.0)
        self._receive = receive
        self._send = send
        self._started = False
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        state = f"revoked={self.revoked.value}" if self.revoked else f"ended={self.ended}"
        return f"<Watched {self.conn.scope['type']} {self.conn.scope.get('path', '')} {state}>"

    async def receive(self) -> Message:
        """The server's next message, noting the end of the connection."""
        message = await self._receive()
        if message["type"] in _ENDINGS:
            self.ended = True
        return message

    async def send(self, message: Message) -> None:
        """Pass the app's message on; once the gate closed the connection, raise
        ``ConnectionResetError``, as a server does once the client has left (Starlette
        makes it a ``WebSocketDisconnect``, and ends a stream on it under ASGI 2.4)."""
        async with self._lock:
            if self.revoked is not None:
                raise ConnectionResetError("the gate closed this connection: access refused")
            kind = message["type"]
            if kind == "http.response.start":
                self._started = True
            elif kind in _ENDINGS or (kind.endswith("body") and not message.get("more_body")):
                self.ended = True
            await self._send(message)

    async def close(self, gate: Gate, verdict: Verdict) -> bool:
        """Close the connection for the refused ``verdict``: a websocket with 1008 (1013
        when nothing could be read), the reason the outcome's code (never who asked); an
        HTTP response is ended, or refused as the gate refuses if it had not begun.
        Whether this closed it (it may have ended meanwhile)."""
        async with self._lock:
            if self.ended or self.revoked is not None:
                return False
            self.revoked = verdict.outcome
            if self.websocket:
                unavailable = verdict.outcome is Outcome.BALANCES_UNAVAILABLE
                code = UNAVAILABLE_CODE if unavailable else REFUSED_CODE
                await self._send(
                    {"type": "websocket.close", "code": code, "reason": verdict.outcome.value}
                )
            elif self._started:
                await self._send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                response = await gate.refuse(self.conn, verdict)
                await response(self.conn.scope, self._receive, self._send)
            return True


async def watched(
    gate: Gate,
    conn: HTTPConnection,
    verdict: Verdict,
    app: ASGIApp,
    *,
    receive: Receive,
    send: Send,
) -> None:
    """Run ``app`` on the connection ``verdict`` let in, judged again while it lasts."""
    revocations = revocations_of(gate)
    connection = Watched(conn, verdict, receive, send)
    revocations.watch(connection)
    try:
        await app(conn.scope, connection.receive, connection.send)
    except BaseException as error:
        if connection.revoked is None or not _closed_under_it(error, _CLOSED_UNDER_IT):
            raise
    finally:
        revocations.unwatch(connection)


@contextlib.asynccontextmanager
async def watching(gate: Gate, websocket: WebSocket, verdict: Verdict) -> AsyncIterator[None]:
    """Judge again, until the block ends, the websocket ``verdict`` let in, for a guard that
    runs inside the endpoint's call (the FastAPI dependency) and so cannot wrap the
    connection: it is closed through ``websocket`` itself, and the app's sends after
    that raise (Starlette's ``WebSocketDisconnected``), which the block then swallows."""
    revocations = revocations_of(gate)
    connection = Watched(websocket, verdict, websocket.receive, websocket.send)
    revocations.watch(connection)
    try:
        yield
    except BaseException as error:
        kinds = (*_CLOSED_UNDER_IT, WebSocketDisconnected)
        if connection.revoked is None or not _closed_under_it(error, kinds):
            raise
    finally:
        revocations.unwatch(connection)


def _closed_under_it(error: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    """Whether ``error`` is one of ``kinds``, or a group of nothing else (what an app that
    sends from an anyio task group raises)."""
    if isinstance(error, BaseExceptionGroup):
        return error.split(kinds)[1] is None
    return isinstance(error, kinds)


class Revocations:
    """The connections ``gate`` let in that are open on one event loop, judged again when
    its cache withdraws their holder's answers and every ``gate.recheck`` seconds. It
    listens and sweeps only while it has connections."""

    def __init__(self, gate: Gate, loop: asyncio.AbstractEventLoop) -> None:
        self.gate = gate
        self.open: set[Watched] = set()
        self.loop = loop
        #: How long one judgement may take: ``DEADLINE``, or ``recheck`` when shorter (so
        #: a hung read is over by the next sweep).
        self.deadline = min(gate.recheck, DEADLINE)
        self._sweeper: asyncio.Task[None] | None = None
        self._stop_listening: Callable[[], None] | None = None
        #: The judgement under way of each holder and rule, and the connections to judge
        #: again once it ends.
        self._judging: dict[_Group, asyncio.Task[None]] = {}
        self._wanted: dict[_Group, set[Watched]] = {}
        self._at_once = asyncio.Semaphore(AT_ONCE)

    def __repr__(self) -> str:
        return f"<Revocations of {self.gate!r}: {len(self.open)} open>"

    def watch(self, connection: Watched) -> None:
        """Judge ``connection`` again from now on, until ``unwatch``."""
        self.open.add(connection)
        if self._sweeper is None:
            feed = getattr(self.gate.balances, "changes", None)
            subscribe = getattr(feed, "subscribe", None)
            if callable(subscribe):
                self._stop_listening = subscribe(self.heard)
            self._sweeper = self.loop.create_task(self._sweep(), name="tca-gate recheck")

    def unwatch(self, connection: Watched) -> None:
        """Stop judging ``connection``; with none left, stop listening and sweeping."""
        self.open.discard(connection)
        if self.open or self._sweeper is None:
            return
        self._sweeper.cancel()
        self._sweeper = None
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        _forget(self)

    def heard(self, change: Change) -> None:
        """The cache's listener: judge again the connections ``change`` concerns (called
        from another thread, it hands the change to this loop)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not self.loop:
            if not self.loop.is_closed():
                self.loop.call_soon_threadsafe(self.heard, change)
            return
        self.judge(each for each in self.open if change.concerns(each.holder))

    def judge(self, connections: Iterable[Watched]) -> None:
        """Judge ``connections`` again, once per holder and rule, each in a task of its
        own (``AT_ONCE`` reading at a time), and close those now refused (shadow mode:
        logged, left open). A holder and rule still being judged is judged again once
        that ends, never twice at once: a hung read holds up no one else, nor piles up."""
        for each in connections:
            if each.ended:
                continue
            group: _Group = (each.holder, id(each.rule), each.name)
            self._wanted.setdefault(group, set()).add(each)
            if group not in self._judging:
                task = self.loop.create_task(self._judge_group(group), name="tca-gate rejudge")
                self._judging[group] = task

    async def _judge_group(self, group: _Group) -> None:
        """Judge the connections wanted for ``group`` until none are left."""
        try:
            while connections := [each for each in self._wanted.pop(group, ()) if not each.ended]:
                try:
                    async with self._at_once:
                        verdict = await self._verdict(connections[0])
                    await self._settle(connections, verdict)
                except Exception:
                    _log.exception("judging open connections again failed")
        finally:
            del self._judging[group]

    async def _settle(self, connections: list[Watched], verdict: Verdict) -> None:
        """Act on ``verdict``, the new one on ``connections``' holder and rule: note when
        it lets them in afresh, else close them (balances unavailable: past the grace)."""
        now = time.monotonic()
        if verdict.allowed:
            if not verdict.stale:
                for each in connections:
                    each.allowed_at = now
            return
        if verdict.outcome is Outcome.BALANCES_UNAVAILABLE:
            grace = self.grace
            connections = [each for each in connections if now - each.allowed_at >= grace]
        await asyncio.gather(*(self._revoke(each, verdict) for each in connections))

    async def _revoke(self, connection: Watched, verdict: Verdict) -> None:
        """Close ``connection``, refused by ``verdict``, and log it (shadow mode: log only)."""
        if verdict.shadow:
            self.gate._log(verdict, connection.conn)
        elif await self._closed(connection, verdict):
            self.gate._log(verdict, connection.conn)
            kind = "websocket" if connection.websocket else "stream"
            report_revoked(verdict.outcome, connection.name or "-", kind)

    @property
    def grace(self) -> float:
        """How long a connection is kept while its balances cannot be read, from when they
        last let it in: the cache's ``stale_for`` (the age it accepts for an answer when
        the upstream fails), 0 without one."""
        stale_for = getattr(self.gate.balances, "stale_for", 0.0)
        return float(stale_for) if isinstance(stale_for, int | float) else 0.0

    async def _verdict(self, connection: Watched) -> Verdict:
        """The verdict on ``connection``'s holder now; a failure, or no answer within
        ``deadline``, is a 503 (fail closed)."""
        gate = self.gate
        try:
            async with asyncio.timeout(self.deadline):
                verdict = await gate._judge(connection.rule, connection.name, connection.holder)
        except TimeoutError:
            _log.warning(
                "judging an open connection again took over %g s: its balances count as "
                "unavailable",
                self.deadline,
            )
            verdict = _unavailable(connection)
        except Exception:
            _log.exception("judging an open connection again failed: closing it")
            verdict = _unavailable(connection)
        if gate.shadow and not verdict.allowed:
            verdict.shadow = True
        return verdict

    async def _closed(self, connection: Watched, verdict: Verdict) -> bool:
        """Close ``connection`` for ``verdict``; whether it was closed here (a server that
        fails to send the close has lost the connection already)."""
        try:
            return await connection.close(self.gate, verdict)
        except Exception:
            _log.debug("closing a refused connection failed: it is gone", exc_info=True)
            return False

    async def _sweep(self) -> None:
        """Judge every open connection again every ``recheck`` seconds, whether or not
        the judgements before are over."""
        while True:
            await asyncio.sleep(self.gate.recheck)
            self.judge(self.open)


def _unavailable(connection: Watched) -> Verdict:
    """The verdict on ``connection`` when its balances could not be read."""
    return Verdict(
        Outcome.BALANCES_UNAVAILABLE,
        connection.rule,
        connection.name,
        connection.holder,
        detail="Your token balances cannot be read right now; try again shortly.",
    )


#: Each gate's ``Revocations``, by event loop, while it has connections.
_BY_GATE: weakref.WeakKeyDictionary[Gate, dict[asyncio.AbstractEventLoop, Revocations]] = (
    weakref.WeakKeyDictionary()
)


def revocations_of(gate: Gate) -> Revocations:
    """``gate``'s connections on the running event loop."""
    loop = asyncio.get_running_loop()
    by_loop = _BY_GATE.setdefault(gate, {})
    found = by_loop.get(loop)
    if found is None:
        found = by_loop[loop] = Revocations(gate, loop)
    return found


def _forget(revocations: Revocations) -> None:
    """Drop ``revocations``, now empty, from its gate's."""
    by_loop = _BY_GATE.get(revocations.gate, {})
    if by_loop.get(revocations.loop) is revocations:
        del by_loop[revocations.loop]
