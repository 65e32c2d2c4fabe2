"""Three worker processes, each with a near cache on one redis-server, reading a holder
all the time; one forgets it. Every other worker drops its near answer when the change
arrives and serves the old balances to no read started after that, and never past the
documented bound; the invalidation latency is measured and printed (not asserted).

This file is also the worker: ``python -m tests.balances.test_near_cache_workers URL
PREFIX FILE`` reads the holder's balances from ``FILE`` (the upstream), answers the
commands ``forget`` and ``report`` on stdin, and prints what it saw as JSON lines.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from tca_gate.balances import Change, Holder, RedisCachedBalances

ROOT = Path(__file__).resolve().parents[2]
ALICE = Holder.user("alice")
#: Long, so that a near answer goes because the change dropped it, not because it expired.
NEAR_TTL = 5.0
WORKERS = 3


class FileSource:
    """The upstream every worker shares: balances in a JSON file, read at each call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.calls = 0

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        self.calls += 1
        found: dict[str, int] = json.loads(self.path.read_text())
        return found


def say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def worker(url: str, prefix: str, path: Path) -> None:
    """Read alice's balances in a loop (the near cache first, as the gate does); note
    when the change arrives and when the old balances were last read."""
    source = FileSource(path)
    cache = RedisCachedBalances.from_url(source, url, prefix=prefix, near_ttl=NEAR_TTL)
    dropped_at: list[float] = []

    def heard(change: Change) -> None:
        if change.concerns(ALICE) and not dropped_at:
            dropped_at.append(time.monotonic())

    cache.changes.subscribe(heard)
    assert await cache.changes.start()
    old = dict(await cache.balances(ALICE))
    while cache.peek(ALICE) is None:
        await cache.balances(ALICE)
    last_old = {"started": 0.0, "done": 0.0}
    reads = 0

    async def read_all_the_time() -> None:
        nonlocal reads
        while True:
            started = time.monotonic()
            balances = cache.peek(ALICE) or await cache.balances(ALICE)
            reads += 1
            if dict(balances) == old:
                last_old.update(started=started, done=time.monotonic())
            await asyncio.sleep(0.0005)

    reading = asyncio.create_task(read_all_the_time())
    say(ready=True)
    loop = asyncio.get_running_loop()
    while command := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
        if command == "forget":
            started = time.monotonic()
            await cache.forget(usernames=["alice"])
            say(forget_started=started, forget_returned=time.monotonic())
        elif command == "report":
            reading.cancel()
            say(
                dropped_at=dropped_at[0] if dropped_at else None,
                last_old_started=last_old["started"],
                last_old_done=last_old["done"],
                calls=source.calls,
                reads=reads,
            )
            break
    await cache.aclose()


class Worker:
    """A worker process, driven through its stdin and stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, url: str, prefix: str, path: Path) -> Worker:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path[1:]])}
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tests.balances.test_near_cache_workers"),
            *(url, prefix, str(path)),
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def tell(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{command}\n".encode())
        await self.process.stdin.drain()

    async def hear(self) -> dict[str, float]:
        assert self.process.stdout is not None
        async with asyncio.timeout(30):
            line = await self.process.stdout.readline()
        assert line, f"the worker exited ({await self.process.wait()})"
        found: dict[str, float] = json.loads(line)
        return found

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


def test_a_forget_in_one_worker_reaches_every_near_cache(redis_url: str, tmp_path: Path) -> None:
    upstream = tmp_path / "alice.json"
    upstream.write_text(json.dumps({"TOKENLY": 100_000_000}))
    prefix = f"workers-{uuid.uuid4().hex[:12]}:"

    async def scenario() -> tuple[dict[str, float], list[dict[str, float]]]:
        workers = [await Worker.start(redis_url, prefix, upstream) for _ in range(WORKERS)]
        try:
            for each in workers:
                assert await each.hear() == {"ready": True}
            await asyncio.sleep(0.3)  # every worker reading from its near cache
            upstream.write_text(json.dumps({"TOKENLY": 0}))  # withdrawn upstream...
            await workers[0].tell("forget")  # ... and the webhook reached worker 0
            forgot = await workers[0].hear()
            await asyncio.sleep(0.3)
            reports = []
            for each in workers:
                await each.tell("report")
                reports.append(await each.hear())
            return forgot, reports
        finally:
            for each in workers:
                await each.stop()

    forgot, reports = asyncio.run(scenario())
    returned = forgot["forget_returned"]
    assert sum(report["calls"] for report in reports) == 2  # once before, once after
    latencies = []
    for number, report in enumerate(reports[1:], start=1):
        assert report["reads"] > 100, report
        assert report["dropped_at"] is not None, f"worker {number} never heard the forget"
        # no read that started after the change arrived got the old balances ...
        assert report["last_old_started"] <= report["dropped_at"], report
        # ... and none got them past the documented bound after the forget returned
        assert report["last_old_done"] <= returned + NEAR_TTL, report
        latencies.append(report["dropped_at"] - forgot["forget_started"])
    shown = ", ".join(f"{latency * 1000:.2f}" for latency in latencies)
    took = returned - forgot["forget_started"]
    print(
        f"\nnear cache invalidation across {WORKERS} worker processes: the other workers "
        f"dropped alice {shown} ms after the forget started (median "
        f"{statistics.median(latencies) * 1000:.2f} ms); the forget returned after "
        f"{took * 1000:.2f} ms"
    )


if __name__ == "__main__":
    asyncio.run(worker(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
