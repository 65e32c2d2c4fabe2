"""Commands the tests start in the background and read as they print, then stop by Ctrl-C."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import threading

from tests.support.data import ROOT


class Started:
    """A command started in the background, whose stdout is read line by line."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def read_until(self, pattern: str) -> tuple[list[str], re.Match[str]]:
        """The lines printed up to the first that matches ``pattern``, and the match."""
        seen: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=30)
            except queue.Empty:
                self.process.kill()
                raise AssertionError(f"no line matched {pattern!r}; printed: {seen}") from None
            seen.append(line)
            found = re.search(pattern, line)
            if found:
                return seen, found

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C: the exit status and what was printed on stderr."""
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err
