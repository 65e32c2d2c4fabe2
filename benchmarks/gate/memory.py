"""Part 3: the memory cached identities take in ``CachedBalances``, against a plain dict
of the same holders and balances, each measured in a fresh process."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import tracemalloc
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from benchmarks.gate.harness import ROOT, SAT, Log, Settings, child
from tca_gate.balances import CachedBalances, Holder

#: What is filled: (identity kind, store).
STORES = (("token", "cache"), ("user", "cache"), ("token", "dict"))


class JsonAnswers:
    """A source answering every holder with three balances parsed from JSON, as
    Tokenpass's answers are (new key strings and ints for each)."""

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        text = json.dumps({"TOKENLY": 2 * SAT, "LTBCOIN": 12_500 * SAT, "BITCRYSTALS": 7})
        answer: dict[str, int] = json.loads(text)
        return answer


def holder_of(kind: str, index: int) -> Holder:
    """The ``index``th identity: a login (a 40-hex token owned by a user) or a username."""
    if kind == "token":
        return Holder.token(f"{index:08x}" + "c0ffee" * 5 + "ab", owner=f"user{index:06d}")
    return Holder.user(f"user{index:06d}")


async def fill(kind: str, store: str, count: int) -> object:
    """``count`` identities in a ``CachedBalances``, each read through it (``cache``), or
    the same holders and read-only balances in a plain dict (``dict``, for reference)."""
    source = JsonAnswers()
    if store == "dict":
        kept: dict[Holder, Mapping[str, int]] = {}
        for index in range(count):
            holder = holder_of(kind, index)
            kept[holder] = MappingProxyType(dict(await source.balances(holder)))
        return kept
    cache = CachedBalances(source, ttl=3600.0, maxsize=count)
    for index in range(count):
        await cache.read(holder_of(kind, index))
    assert len(cache) == count, len(cache)
    assert cache.stats.upstream_calls == count, cache.stats
    return cache


def resident_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def probe_memory(spec: Mapping[str, Any]) -> dict[str, int]:
    """In a fresh process: bytes traced by ``tracemalloc`` for every store in turn, or
    (``rss``) the resident set's growth for one store."""
    count: int = spec["identities"]
    found: dict[str, int] = {}
    if spec["mode"] == "rss":
        gc.collect()
        before = resident_bytes()
        kept = asyncio.run(fill(spec["kind"], spec["store"], count))
        gc.collect()
        found[f"{spec['kind']} {spec['store']}"] = resident_bytes() - before
        del kept
        return found
    tracemalloc.start()
    for kind, store in STORES:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        kept = asyncio.run(fill(kind, store, count))
        gc.collect()
        found[f"{kind} {store}"] = tracemalloc.get_traced_memory()[0] - before
        del kept
    return found


def run_probe(spec: Mapping[str, Any]) -> dict[str, int]:
    done = subprocess.run(
        child("--memory-probe", spec), cwd=ROOT, capture_output=True, text=True, check=True
    )
    found: dict[str, int] = json.loads(done.stdout)
    return found


@dataclass
class Memory:
    kind: str
    store: str
    identities: int
    traced: int
    rss: int | None

    @property
    def traced_each(self) -> float:
        return self.traced / self.identities

    @property
    def rss_each(self) -> float | None:
        return None if self.rss is None else self.rss / self.identities


def bench_memory(settings: Settings, log: Log) -> list[Memory]:
    count = settings.identities
    traced = run_probe({"mode": "tracemalloc", "identities": count})
    rows = []
    for kind, store in STORES:
        rss = None
        if settings.rss:
            spec = {"mode": "rss", "identities": count, "kind": kind, "store": store}
            rss = run_probe(spec)[f"{kind} {store}"]
        row = Memory(kind, store, count, traced[f"{kind} {store}"], rss)
        rows.append(row)
        log(f"  {kind} {store}: {row.traced_each:.0f} B traced per identity")
    return rows
