#!/usr/bin/env python
"""Benchmark the gate over HTTP: throughput and latency, a thundering herd, cache memory.

Run ``python benchmarks/bench_gate.py`` (or ``python -m benchmarks.bench_gate``) from the
repository root (``--quick`` for a smoke run, ``--json`` for machine-readable output,
``--check`` to exit 1 when a target is missed). What is measured, and how: the ``gate``
package (``benchmarks/gate``) and ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

if not __package__:
    # Run as a file: import the benchmarks from the repository root, as ``-m`` does.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from starlette.applications import Starlette

from benchmarks.gate.harness import FULL, QUICK, Settings, serve
from benchmarks.gate.herd import bench_herd, chain_app
from benchmarks.gate.memory import bench_memory, probe_memory
from benchmarks.gate.report import Report, machine, render
from benchmarks.gate.throughput import (
    REDIS_VARIANTS,
    bench_throughput,
    redis_throughput_app,
    throughput_app,
)

PARTS = ("throughput", "herd", "memory")


def app_of(spec: Mapping[str, Any]) -> Starlette:
    """The app a server process serves: the herd's chain, or a throughput variant."""
    if spec["app"] in REDIS_VARIANTS:
        return redis_throughput_app(spec)
    return chain_app(spec) if spec["app"] == "chain" else throughput_app(spec["app"])


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke check")
    parser.add_argument("--rounds", type=int, help=f"rounds of the three variants ({FULL.rounds})")
    parser.add_argument("--duration", type=int, help=f"seconds of each wrk run ({FULL.duration})")
    parser.add_argument(
        "--warmup", type=int, help=f"seconds of warm-up per variant ({FULL.warmup})"
    )
    parser.add_argument("--connections", type=int, help=f"wrk connections ({FULL.connections})")
    parser.add_argument("--herd", type=int, help=f"requests in the herd ({FULL.herd})")
    parser.add_argument(
        "--identities", type=int, help=f"identities cached for memory ({FULL.identities:,})"
    )
    parser.add_argument(
        "--only", action="append", choices=PARTS, help="run only this part (may be repeated)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # a server process
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)  # a memory probe process
    return parser.parse_args(argv)


def settings_of(args: argparse.Namespace) -> Settings:
    settings = QUICK if args.quick else FULL
    chosen = {
        name: getattr(args, name)
        for name in ("rounds", "duration", "warmup", "connections", "herd", "identities")
        if getattr(args, name) is not None
    }
    for name, value in chosen.items():
        if value < (0 if name == "warmup" else 1):
            raise SystemExit(f"--{name} must be at least {0 if name == 'warmup' else 1}")
    return replace(settings, **chosen)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.serve:
        serve(json.loads(args.serve), app_of)
        return 0
    if args.memory_probe:
        print(json.dumps(probe_memory(json.loads(args.memory_probe))))
        return 0
    settings = settings_of(args)
    parts = args.only or PARTS
    if "throughput" in parts and shutil.which("wrk") is None:
        print("wrk is not installed: run scripts/system-packages", file=sys.stderr)
        return 2

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    report = Report(machine(), settings)
    if "throughput" in parts:
        log("1. throughput")
        report.throughput = bench_throughput(settings, log)
    if "herd" in parts:
        log("2. herd")
        report.herds = bench_herd(settings, log)
    if "memory" in parts:
        log("3. memory")
        report.memory = bench_memory(settings, log)
    report.elapsed = time.perf_counter() - started
    print(json.dumps(report.as_json(), indent=2) if args.json else render(report))
    missed = any(not t.passed for t in report.targets())
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
