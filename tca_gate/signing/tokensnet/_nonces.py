"""Nonce sources: each hands out nonces that strictly increase, from any thread or task.

Tokens.net refuses a nonce not greater than the last one its key used (error 111), so
every attempt of every call takes a fresh nonce from the key's source. A nonce is at
least the current UNIX time in units of 100 ns, the scale of Tokens.net's official
clients (Python: ``int(time.time() * 10**7)``; Node: ``Date.now()`` and a 4-digit
counter; about 1.8e16 in 2026), so a key an official client has used keeps working with
these nonces, and with the official client after them. A process started later begins
above the nonces of one that ran before (unless the clock went back); ``FileNonces``
also keeps the last nonce in a file, written (atomically, and synced) before the nonce
is used, so a restarted process or another one sharing the file never reuses one
whatever the clock. A file written at a smaller scale (microseconds, by earlier versions)
is simply overtaken: the next nonce is the clock's, far above it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from tca_gate.errors import InvalidArgumentError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the file is shared by threads only
    fcntl = None  # type: ignore[assignment]


def hundred_nanoseconds() -> int:
    """The current UNIX time in units of 100 ns (the official clients' nonce scale): the
    floor of a fresh nonce."""
    return time.time_ns() // 100


@runtime_checkable
class NonceSource(Protocol):
    """Hands out nonces, each greater than every one handed out before (thread-safe)."""

    def next_nonce(self) -> int:
        """A nonce greater than any handed out before."""
        ...


class MemoryNonces:
    """Nonces kept in memory: the time in units of 100 ns, or one more than the last."""

    def __init__(self, *, clock: Callable[[], int] = hundred_nanoseconds) -> None:
        self._clock = clock
        self._last = -1
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryNonces(last={self._last})"

    def next_nonce(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, self._clock())
            return self._last


class FileNonces:
    """Nonces whose high-water mark lives in ``path``, saved before each nonce is used.

    Threads share it through a lock and processes through an exclusive ``flock`` on
    ``path`` + ``.lock``; the file is replaced atomically and synced, so a crash leaves
    the old or the new mark, never a torn one. A file that is not a nonce raises
    ``InvalidArgumentError`` rather than guess (which could reuse a nonce).
    """

    def __init__(
        self, path: str | os.PathLike[str], *, clock: Callable[[], int] = hundred_nanoseconds
    ):
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileNonces({str(self.path)!r})"

    def next_nonce(self) -> int:
        with self._lock, self._file_lock():
            nonce = max(self.last() + 1, self._clock())
            self._save(nonce)
            return nonce

    def last(self) -> int:
        """The last nonce handed out (``-1`` before the first)."""
        try:
            text = self.path.read_text("ascii").strip()
        except FileNotFoundError:
            return -1
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidArgumentError(f"nonce file {self.path} cannot be read: {error}") from None
        if not (text.isascii() and text.isdigit()):
            raise InvalidArgumentError(
                f"nonce file {self.path} should hold the last nonce (digits), not {text[:20]!r}"
            )
        return int(text)

    def _save(self, nonce: int) -> None:
        """Write ``nonce`` to a temporary file beside ``path``, sync it and move it over."""
        folder = self.path.parent
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="ascii") as file:
                file.write(f"{nonce}\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _sync_folder(folder)

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        with open(f"{self.path}.lock", "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _sync_folder(folder: Path) -> None:
    """Sync the folder's entry list, so the rename survives a crash (where the OS allows)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - folders cannot be opened on some systems
        return
    try:
        os.fsync(handle)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(handle)


_SHARED: dict[str, MemoryNonces] = {}
_SHARED_LOCK = threading.Lock()


def shared_nonces(api_key: str) -> MemoryNonces:
    """The process's one in-memory source for ``api_key``, so its clients never collide."""
    if not api_key:
        raise InvalidArgumentError("api_key must not be empty")
    with _SHARED_LOCK:
        return _SHARED.setdefault(api_key, MemoryNonces())
