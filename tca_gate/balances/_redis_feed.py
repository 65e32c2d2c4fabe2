"""``RedisChangeFeed``: the changes of a Redis balance cache, carried between workers.

Every change the cache makes (``send``) is told to this process's listeners at once and
PUBLISHed on the cache's channel (``{prefix}changes``), marked with this feed's worker
id; a listening task, subscribed to that channel, tells the local listeners of the
changes other workers PUBLISH (its own it skips: they were told already).

``live`` is True only while the feed is subscribed and hearing: it PINGs the server every
half ``heartbeat`` and counts the channel lost when it has heard nothing (a message or
a pong) for a ``heartbeat``, or at once when the connection fails. Then it tells its
listeners ``Change.EVERYTHING`` (what they keep can no longer be trusted), and
subscribes again with a backoff; once back it tells them ``Change.EVERYTHING`` again
(changes may have been missed meanwhile), then is live. A redis-py client that
reconnects and subscribes again by itself is caught the same way: each subscription
after the first is announced to the listeners as ``Change.EVERYTHING``.

The listening task belongs to the event loop it started in: once that loop is closed,
or another one runs (a second ``asyncio.run``), the task hears nothing, so the feed is
not live; its listeners are told ``Change.EVERYTHING`` and a new task starts in the
running loop. The first failure to subscribe (no SUBSCRIBE permission, Redis down) is
logged at WARNING, once per outage.

Only the client's ``pubsub()``, ``publish`` and the pub/sub ``subscribe``,
``get_message``, ``ping`` and ``aclose`` are used, which ``redis.asyncio.Redis`` and
``redis.asyncio.RedisCluster`` both offer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

from tca_gate.errors import BalanceUnavailableError

from ._cache_protocol import check_seconds
from ._changes import Change, ChangeFeed, Listener

_log = logging.getLogger("tca_gate.balances")

#: How often the feed makes sure it still hears the channel, in seconds (see the module).
HEARTBEAT = 1.0
#: The first wait before subscribing again after a failure, and the longest, in seconds.
_FIRST_RETRY, _LAST_RETRY = 0.05, 2.0


class RedisChangeFeed(ChangeFeed):
    """The change feed of a ``RedisCachedBalances``, shared by every worker on its
    ``channel`` through Redis pub/sub.

    It listens from the first ``subscribe`` made inside a running event loop (or
    ``await start()``) until ``aclose`` (which the cache's ``aclose`` calls).
    ``redis_timeout`` bounds each Redis operation, as the cache's does. ``send`` tells
    every worker's listeners, ``publish`` (as in ``ChangeFeed``) this process's only.
    """

    def __init__(
        self,
        redis: Any,
        channel: str,
        *,
        redis_timeout: float = 2.0,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        check_seconds("heartbeat", heartbeat, low=0.0, high=60.0, open_low=True)
        super().__init__()
        self.channel = channel
        self.redis_timeout = redis_timeout
        self.heartbeat = heartbeat
        #: This feed's mark on what it PUBLISHes, so it does not tell its listeners twice.
        self.worker = secrets.token_hex(8)
        self._own = f'{{"from":"{self.worker}",'
        self._redis = redis
        self._failures = _redis_failures()
        self._live = False
        self._subscriptions = 0
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._warned = False

    @property
    def live(self) -> bool:
        """Whether the feed is subscribed and hearing the channel: every change any worker
        sends reaches this process's listeners while it is."""
        return self._live and self._listening()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Tell ``listener`` of every change from now on, this worker's and the others';
        starts listening when called inside a running loop."""
        stop = super().subscribe(listener)
        self.start_soon()
        return stop

    def start_soon(self) -> None:
        """Start listening, when called inside a running loop and not listening yet."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._task is not None and not self._listening():
            self._abandon()
        if self._closed or (self._task is not None and not self._task.done()):
            return
        self._task = loop.create_task(self._listen(), name=f"change feed {self.channel!r}")

    async def start(self) -> bool:
        """Start listening and wait, up to ``redis_timeout``, until the feed is live;
        whether it is (if not, it keeps trying in the background)."""
        self.start_soon()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.redis_timeout):
                await self._ready.wait()
        return self.live

    async def aclose(self) -> None:
        """Stop listening for good (listeners are told ``Change.EVERYTHING`` if it was live)."""
        self._closed = True
        if self._task is not None and not self._listening():
            self._abandon()
        task, self._task = self._task, None
        if task is not None and not await _stopped(task, self.redis_timeout):
            _log.warning(
                "the balance change feed's listening task did not stop within %g s: left "
                "behind, cancelled",
                self.redis_timeout,
            )
        self._go_quiet()

    async def send(self, change: Change, *, must_reach: bool = True) -> None:
        """Tell this process's listeners of ``change``, then every other worker's (PUBLISH).

        A PUBLISH that fails raises ``BalanceUnavailableError`` (a ``forget`` that did
        not reach every worker must fail, so that the webhook is sent again); with
        ``must_reach`` False it is logged instead."""
        if not change:
            return
        self.publish(change)
        message = self._own + change.to_json()[1:]
        try:
            async with asyncio.timeout(self.redis_timeout):
                await self._redis.publish(self.channel, message)
        except self._failures as error:
            problem = (
                "the balance change could not be sent to the other workers "
                f"({type(error).__name__})"
            )
            if must_reach:
                raise BalanceUnavailableError(problem) from error
            _log.warning("%s", problem)

    def __repr__(self) -> str:
        return f"RedisChangeFeed(channel={self.channel!r}, live={self.live})"

    def _listening(self) -> bool:
        """Whether the listening task can still hear: not done, and its loop the one
        running now (or, outside any loop, running in another thread)."""
        task = self._task
        if task is None or task.done() or task.get_loop().is_closed():
            return False
        try:
            return asyncio.get_running_loop() is task.get_loop()
        except RuntimeError:
            return task.get_loop().is_running()

    def _abandon(self) -> None:
        """Leave a listening task of another (or a closed) loop: cancelled if its loop can
        still run it, the listeners told to trust nothing, a fresh ``start`` event."""
        task, self._task = self._task, None
        if task is not None and not task.done() and not task.get_loop().is_closed():
            task.get_loop().call_soon_threadsafe(task.cancel)
        self._go_quiet()
        self._ready = asyncio.Event()

    async def _listen(self) -> None:
        """Subscribe and hear the channel; after a failure, subscribe again with a backoff."""
        delay = _FIRST_RETRY
        while True:
            pubsub = self._redis.pubsub()
            try:
                await self._hear(pubsub)
            except Exception as error:
                if self._live:
                    _log.warning(
                        "the balance change feed lost Redis (%s): near caches serve nothing "
                        "until it is back",
                        type(error).__name__,
                    )
                    delay = _FIRST_RETRY
                elif not self._warned:
                    _log.warning(
                        "the balance change feed cannot subscribe to %r (%s): near caches "
                        "serve nothing, and other workers' changes do not reach this one, "
                        "until it can; check that Redis is reachable and that its user may "
                        "SUBSCRIBE and PUBLISH on that channel (ACL: +subscribe +publish &%s)",
                        self.channel,
                        type(error).__name__,
                        self.channel,
                    )
                self._warned = True
            finally:
                if self._task is _current_task():  # not a task left in a closed loop
                    self._go_quiet()
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(self.redis_timeout):
                        await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(2 * delay, _LAST_RETRY)

    async def _hear(self, pubsub: Any) -> None:
        """Subscribe, then tell the listeners what arrives, PINGing to be sure the channel
        is still there; returns only by raising."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.redis_timeout):
            await pubsub.subscribe(self.channel)
        heard_at = pinged_at = loop.time()
        me = asyncio.current_task()
        while True:
            async with asyncio.timeout(self.heartbeat):
                message = await pubsub.get_message(timeout=self.heartbeat / 4)
            if me is not None and me.cancelling():  # a cancellation the client swallowed
                raise asyncio.CancelledError
            now = loop.time()
            if message is not None:
                heard_at = now
                self._heard(message)
            elif now - heard_at > self.heartbeat:
                raise TimeoutError("the change channel said nothing for a heartbeat")
            if now - pinged_at >= self.heartbeat / 2:
                async with asyncio.timeout(self.heartbeat):
                    await pubsub.ping()
                pinged_at = now

    def _heard(self, message: dict[str, Any]) -> None:
        """A message from the channel: a change, or a (new) subscription."""
        kind = message.get("type")
        if kind == "message":
            data = message["data"]
            text = data.decode(errors="replace") if isinstance(data, bytes) else str(data)
            if not text.startswith(self._own):
                self.publish(Change.from_json(text))
        elif kind == "subscribe" and self._task is asyncio.current_task():
            self._subscriptions += 1
            if self._subscriptions > 1:  # again: changes may have been sent meanwhile
                self.publish(Change.EVERYTHING)
            self._live = True
            self._warned = False
            self._ready.set()

    def _go_quiet(self) -> None:
        """No longer hearing: not live, and the listeners told to trust nothing they keep."""
        self._ready.clear()
        if self._live:
            self._live = False
            self.publish(Change.EVERYTHING)


async def _stopped(task: asyncio.Task[Any], within: float) -> bool:
    """Cancel ``task`` and wait for it to end, cancelling again while it runs (redis-py's
    pub/sub read can swallow a cancellation and block on its socket); whether it ended
    within ``within`` seconds (else it is left behind, cancelled: a shutdown never hangs)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not task.done():
        left = deadline - loop.time()
        if left <= 0:
            return False
        task.cancel()
        await asyncio.wait({task}, timeout=min(0.05, left))
    if not task.cancelled():
        task.exception()  # retrieved: it ended by raising, as a cancelled listener does
    return True


def _current_task() -> asyncio.Task[Any] | None:
    """The running task; None outside a running loop (a task's coroutine closed when its
    closed loop is collected)."""
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def _redis_failures() -> tuple[type[BaseException], ...]:
    """The exceptions a Redis call fails with, or times out with."""
    import redis.exceptions  # noqa: PLC0415 (imported by the cache first, with its guard)

    return (redis.exceptions.RedisError, OSError, TimeoutError)
