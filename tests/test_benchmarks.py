"""The benchmarks still load against the package they measure (they are run by hand),
print their tables alike, and the gate benchmark's quick run measures what it says it does."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``benchmarks.<name>``, imported from the repository root as ``python -m`` does."""
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module(f"benchmarks.{name}")


def test_the_one_table_printer_aligns_columns_under_a_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = load("table", monkeypatch).table
    shown = table(["case", "best"], [["a long case", "1 µs"], ["short", "12 µs"]], indent="> ")
    assert shown.splitlines() == [
        "> case         best",
        "> -----------  -----",
        "> a long case  1 µs",
        "> short        12 µs",
    ]


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("bench_rules", ["--check", "--json"]),
        ("bench_gate", ["--quick", "--rounds", "--duration", "--json", "--check", "--only"]),
    ],
)
def test_the_benchmark_imports_and_offers_its_options(
    name: str,
    options: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load(name, monkeypatch)
    with pytest.raises(SystemExit) as exited:
        module.main(["--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    for option in options:
        assert option in shown


def test_the_rules_benchmark_measures_and_prints_every_section(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = load("bench_rules", monkeypatch)
    # Tiny sizes: what the run measures and prints, not how fast the rules are.
    monkeypatch.setattr(bench, "EVAL_ROUNDS", 2)
    monkeypatch.setattr(bench, "COMPILE_CALLS", 4)
    assert bench.main(["--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    sections = [r["section"] for r in results]
    assert sections == ["evaluate"] * 7 + ["compile"] * 8 + ["lookup"] + ["explain"] * 2
    assert all(r["value"] > 0 for r in results)

    assert bench.main([]) == 0
    shown = capsys.readouterr().out
    for heading in ("1. rule.evaluate", "2. Parse + compile", "3. Cached compile", "4. rule."):
        assert heading in shown
    assert "  rule                       evaluate  lambda" in shown
    assert shown.rstrip().splitlines()[-1].startswith("run time ")


def test_the_gate_benchmark_quick_run_measures_every_part() -> None:
    quick = ["--quick", "--json", "--herd", "50", "--identities", "500"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_gate.py"), *quick],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)

    throughput = report["throughput"]
    runs = throughput["runs"]
    variants = ["bare", "gated", "metrics", "near", "redis", "ungated"]
    assert sorted(run["variant"] for run in runs) == variants
    assert all(run["requests"] > 0 and run["errors"] == run["non_2xx"] == 0 for run in runs)
    # Only alice (the load) and carol (the refusal checked first) were ever fetched.
    cache = throughput["gated_cache"]
    assert cache["upstream_calls"] == cache["misses"] == 2
    gated = next(run for run in runs if run["variant"] == "gated")
    assert cache["hits"] >= gated["requests"]
    for variant, counted in throughput["redis_caches"].items():  # near hits count as hits
        assert counted["upstream_calls"] == 2
        assert counted["hits"] >= next(r for r in runs if r["variant"] == variant)["requests"]

    herds = report["herds"]
    assert [(h["cache"], h["instances"]) for h in herds] == [
        ("CachedBalances", 1),
        ("RedisCachedBalances", 2),
    ]
    for herd in herds:
        assert herd["statuses"] == {"200": 50}
        assert herd["sandbox_calls"] == herd["sent"] == herd["upstream_calls"] == 1
        assert herd["passed"] is True

    memory = {(m["kind"], m["store"]): m for m in report["memory"]}
    assert set(memory) == {("token", "cache"), ("user", "cache"), ("token", "dict")}
    assert memory["token", "cache"]["traced"] > memory["token", "dict"]["traced"] > 0

    verdicts = {t["label"]: t["verdict"] for t in report["targets"]}
    assert len(verdicts) == 6
    assert all(verdict in {"PASS", "MISS"} for verdict in verdicts.values())
