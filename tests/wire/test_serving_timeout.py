"""A ``BackgroundServer`` whose app never finishes starting: ``start`` says it did not
start and did not stop, and ``stop`` keeps reporting the thread left running until it ends."""

from __future__ import annotations

import asyncio
import threading

import pytest
from starlette.types import Message, Receive, Scope, Send

from tca_gate.wire import serving
from tca_gate.wire.serving import BackgroundServer, listen


class StuckStartup:
    """An app whose lifespan start-up waits until ``let_go`` is set, then fails (uvicorn
    ends its thread then; a start-up that completed would meet the closed socket)."""

    def __init__(self) -> None:
        self.let_go = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            return
        await receive()
        while not self.let_go.is_set():
            await asyncio.sleep(0.01)
        await send({"type": "lifespan.startup.failed", "message": "gave up"})


async def failing_startup(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await receive()
        failed: Message = {"type": "lifespan.startup.failed", "message": "no database"}
        await send(failed)


@pytest.fixture
def thread_ends(monkeypatch: pytest.MonkeyPatch) -> list[BaseException | None]:
    """What the server threads ended with: uvicorn ends its thread with ``SystemExit(3)``
    when the app's start-up fails, recorded here to be checked, not warned about."""
    ended: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: ended.append(args.exc_value))
    return ended


def exit_codes(ended: list[BaseException | None]) -> list[object]:
    return [error.code if isinstance(error, SystemExit) else error for error in ended]


def running(name: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == name]


def test_a_start_that_times_out_says_the_thread_did_not_stop_and_stop_reports_it(
    monkeypatch: pytest.MonkeyPatch, thread_ends: list[BaseException | None]
) -> None:
    monkeypatch.setattr(serving, "_START_TIMEOUT", 0.3)
    app = StuckStartup()
    server = BackgroundServer(app, listen("127.0.0.1", 0), name="stuck-startup", stop_timeout=0.2)
    try:
        with pytest.raises(
            RuntimeError,
            match=r"^stuck-startup did not start within 0\.3 s and did not stop within 0\.2 s$",
        ):
            server.start()
        assert running("stuck-startup")
        assert server.stop() is False
        assert server.stop() is False
    finally:
        app.let_go.set()
    for thread in running("stuck-startup"):
        thread.join(timeout=10)
    assert not running("stuck-startup")
    assert exit_codes(thread_ends) == [3]
    assert server.stop() is True


def test_a_start_up_that_fails_is_not_said_to_be_left_running(
    thread_ends: list[BaseException | None],
) -> None:
    server = BackgroundServer(failing_startup, listen("127.0.0.1", 0), name="failing-startup")
    with pytest.raises(RuntimeError, match=r"^failing-startup did not start within 10 s$"):
        server.start()
    assert not running("failing-startup")
    assert exit_codes(thread_ends) == [3]
    assert server.stop() is True
