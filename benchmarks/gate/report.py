"""The run's results: the targets they are judged against, the printed report and its
JSON form, headed by the machine and the software that ran it."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import uvicorn

import tca_gate
from benchmarks.gate.harness import USER_HEADER, Settings, http_implementation
from benchmarks.gate.herd import HERD_TARGET, Herd
from benchmarks.gate.memory import Memory
from benchmarks.gate.throughput import (
    BUSY_CORE,
    GATED_TARGET,
    METRICS_TARGET,
    NEAR_TARGET,
    UNGATED_TARGET,
    Throughput,
)
from benchmarks.table import table


@dataclass
class Target:
    label: str
    value: float
    target: str
    passed: bool

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "MISS"

    @property
    def shown(self) -> str:
        return f"{self.value:.3f}" if isinstance(self.value, float) else str(self.value)


@dataclass
class Report:
    machine: dict[str, Any]
    settings: Settings
    throughput: Throughput | None = None
    herds: list[Herd] = field(default_factory=list)
    memory: list[Memory] = field(default_factory=list)
    elapsed: float = 0.0

    def targets(self) -> list[Target]:
        found = []
        if self.throughput is not None:
            for variant, goal in (("ungated", UNGATED_TARGET), ("gated", GATED_TARGET)):
                ratio = self.throughput.ratio(variant)
                label = f"{variant} / bare, median requests/s"
                found.append(Target(label, ratio, f">= {goal:.2f}", ratio >= goal))
            ratio = self.throughput.ratio("metrics", "gated")
            label = "metrics on / off (gated), median requests/s"
            found.append(Target(label, ratio, f">= {METRICS_TARGET:.2f}", ratio >= METRICS_TARGET))
            found += near_targets(self.throughput)
        for herd in self.herds:
            label = f"herd: calls at the sandbox, {herd.cache} x{herd.instances}"
            found.append(Target(label, herd.sandbox_calls, f"== {HERD_TARGET}", herd.passed))
        return found

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "machine": self.machine,
            "settings": asdict(self.settings),
            "elapsed_s": self.elapsed,
            "targets": [asdict(t) | {"verdict": t.verdict} for t in self.targets()],
        }
        if self.throughput is not None:
            t = self.throughput
            metrics = ("rps", "p50_ms", "p99_ms", "cpu_us", "server_cpu", "wrk_cpu")
            compared = [v for v in t.variants() if v != "bare"]
            answer["throughput"] = {
                "cpus": {"server": t.cpus[0], "wrk": t.cpus[1]},
                "gated_cache": t.cache,
                "shared_core": t.shared_core(),
                "redis_caches": t.redis_caches,
                "medians": {v: {m: t.median(v, m) for m in metrics} for v in t.variants()},
                "ratios": {v: t.ratio(v) for v in compared},
                "paired_ratios": {v: t.paired(v) for v in compared},
                "cpu_ratios": {v: t.cpu_ratio(v) for v in compared},
                "metrics_over_gated": {
                    "ratio": t.ratio("metrics", "gated"),
                    "paired": t.paired("metrics", "gated"),
                    "cpu": t.cpu_ratio("metrics", "gated"),
                },
                "runs": [asdict(run) for run in t.runs],
            }
        answer["herds"] = [asdict(h) | {"passed": h.passed} for h in self.herds]
        answer["memory"] = [
            asdict(m) | {"traced_per_identity": m.traced_each, "rss_per_identity": m.rss_each}
            for m in self.memory
        ]
        return answer


def machine() -> dict[str, Any]:
    wrk = shutil.which("wrk")
    version = ""
    if wrk is not None:
        done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        version = (done.stdout or done.stderr).split(" [")[0].strip()
    return {
        "tca_gate": tca_gate.__version__,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "nproc": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)),
        "loadavg": os.getloadavg(),
        "uvicorn": uvicorn.__version__,
        "http": http_implementation(),
        "loop": "asyncio",
        "wrk": version,
    }


def render_throughput(t: Throughput) -> list[str]:
    s = t.settings
    server_cpu, wrk_cpu = t.cpus
    pinned = (
        f"servers on CPU {server_cpu}, wrk on CPU {wrk_cpu}"
        if server_cpu is not None
        else "nothing pinned (one CPU)"
    )
    out = [
        f"1. Throughput: wrk -t1 -c{s.connections} -d{s.duration}s, {pinned}; {s.rounds} rounds"
        f" of the {len(t.variants())} in turn, medians.",
        f"   Identity: the {USER_HEADER} header; every app's endpoint reads it, and behind the"
        " gate its resolver too (header_identity).",
        "   ratio: req/s over the bare app's; paired: median of the rounds' ratios; cpu: the"
        " bare app's server",
        "   CPU time per request over the variant's. cores: the server's and wrk's CPU use.",
    ]
    body = []
    for variant, label in t.variants().items():
        bare = variant == "bare"
        body.append(
            [
                label,
                f"{t.median(variant, 'rps'):.0f}",
                f"{t.median(variant, 'p50_ms'):.2f} ms",
                f"{t.median(variant, 'p99_ms'):.2f} ms",
                f"{t.median(variant, 'cpu_us'):.1f} µs",
                f"{t.median(variant, 'server_cpu'):.2f}/{t.median(variant, 'wrk_cpu'):.2f}",
                "-" if bare else f"{t.ratio(variant):.3f}",
                "-" if bare else f"{t.paired(variant):.3f}",
                "-" if bare else f"{t.cpu_ratio(variant):.3f}",
            ]
        )
    headers = ["variant", "req/s", "p50", "p99", "cpu/req", "cores", "ratio", "paired", "cpu"]
    out.append(table(headers, body))
    out.append(
        f"  metrics on over off (gated route): ratio {t.ratio('metrics', 'gated'):.3f},"
        f" paired {t.paired('metrics', 'gated'):.3f}, cpu {t.cpu_ratio('metrics', 'gated'):.3f}"
    )
    bad = sum(r.errors + r.non_2xx for r in t.runs)
    out.append(
        f"  socket errors and non-2xx answers: {bad}; the gated app's cache: {t.cache['hits']}"
        f" hits, {t.cache['misses']} misses, {t.cache['upstream_calls']} upstream calls"
    )
    out += render_redis_caches(t)
    if t.shared_core():
        out.append(
            f"  note: a server had under {BUSY_CORE} of its core in some runs (the machine is"
            " shared): the cpu ratio is the steadier figure"
        )
    return out


def near_targets(t: Throughput) -> list[Target]:
    """The near cache's target, when the Redis variants ran (a redis-server installed)."""
    if "near" not in t.variants():
        return []
    ratio = t.ratio("near")
    label = "Redis + near cache / bare, median requests/s"
    return [Target(label, ratio, f">= {NEAR_TARGET:.2f}", ratio >= NEAR_TARGET)]


def render_redis_caches(t: Throughput) -> list[str]:
    """The Redis variants' cache counters: how many hits the near cache answered."""
    return [
        f"  the {variant} app's cache: {c['hits']} hits, {c['misses']} misses,"
        f" {c['upstream_calls']} upstream calls"
        for variant, c in t.redis_caches.items()
    ]


def render_herds(herds: Sequence[Herd]) -> list[str]:
    out = [
        f"2. {herds[0].requests} requests at once for one uncached identity: gate app -> cache"
        " -> TokenpassBalances -> sandbox.",
        f"   The sandbox holds its first balance answer back {herds[0].delay:g} s, so the herd"
        " arrives during the fetch;",
        "   misses: requests that waited for it. at sandbox: balance requests it received;"
        " sent: by the apps.",
    ]
    body = [
        [
            f"{h.cache}, {h.instances} process{'es' if h.instances > 1 else ''}",
            str(h.requests),
            " ".join(f"{k}:{v}" for k, v in sorted(h.statuses.items())),
            str(h.misses),
            str(h.hits),
            str(h.upstream_calls),
            str(h.sent),
            str(h.sandbox_calls),
            f"{h.seconds:.2f} s",
        ]
        for h in herds
    ]
    headers = ["cache", "requests", "statuses", "misses", "hits", "upstream_calls", "sent"]
    out.append(table([*headers, "at sandbox", "time"], body))
    return out


def render_memory(rows: Sequence[Memory]) -> list[str]:
    out = [
        f"3. Memory for {rows[0].identities:,} cached identities, 3 balances each parsed from"
        " JSON, holders and balances",
        "   included: tracemalloc in one fresh process; RSS growth in one fresh process per row.",
    ]
    body = [
        [
            {"token": "login (token + owner)", "user": "username"}[m.kind],
            "CachedBalances" if m.store == "cache" else "plain dict (reference)",
            f"{m.traced / 2**20:.1f} MiB",
            f"{m.traced_each:.0f} B",
            "-" if m.rss is None else f"{m.rss / 2**20:.1f} MiB",
            "-" if m.rss_each is None else f"{m.rss_each:.0f} B",
        ]
        for m in rows
    ]
    out.append(table(["identity", "store", "traced", "each", "RSS growth", "each"], body))
    return out


def render(report: Report) -> str:
    info = report.machine
    load = " ".join(f"{x:.2f}" for x in info["loadavg"])
    out = [
        f"tca-gate {info['tca_gate']} gate benchmark",
        f"  Python {info['python']} ({info['implementation']}), {info['platform']}",
        f"  nproc {info['nproc']}, {info['cpu_affinity']} usable, load average {load}",
        f"  uvicorn {info['uvicorn']} (http {info['http']}, loop {info['loop']}, one worker,"
        f" access log off); {info['wrk'] or 'no wrk'}",
    ]
    if report.throughput is not None:
        out += ["", *render_throughput(report.throughput)]
    if report.herds:
        out += ["", *render_herds(report.herds)]
    if report.memory:
        out += ["", *render_memory(report.memory)]
    targets = report.targets()
    body = [[t.label, t.shown, t.target, t.verdict] for t in targets]
    out += ["", "Targets", table(["measure", "value", "target", "result"], body)]
    missed = sum(not t.passed for t in targets)
    out.append(
        f"{missed} of {len(targets)} targets missed"
        if missed
        else f"all {len(targets)} targets met"
    )
    out.append(f"run time {report.elapsed:.0f} s")
    return "\n".join(out)
