#!/usr/bin/env python
"""Benchmark ``tca_gate.audit``: many rules over many holders at once.

Run ``python benchmarks/bench_audit.py`` (``--check`` exits 1 when a target is missed,
``--json`` prints the figures as JSON; ``--holders`` and ``--sample`` set the sizes).
1,000,000 holders of 10 assets and 10 rules of 1 to 5 clauses (every operator, OR
groups) are judged (a) by ``audit`` on prebuilt ``Holdings``, (b) by the whole
``tca-gate audit`` command reading a Parquet file, as a process (and, for information,
CSV and JSON lines files of the same holders), and (c) by
``Rule.evaluate`` called per holder on a sample, scaled to every holder. (a) and (c)
are timed interleaved, best of ``--rounds``, the garbage collector off; (b) is wall
time, best of ``--rounds``. Every answer is checked against ``Rule.evaluate`` first.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

if not __package__:
    # Run as a file: import the benchmarks from the repository root, as ``-m`` does.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np
import pyarrow as pa
import pyarrow.csv as arrow_csv
import pyarrow.parquet as pq

from benchmarks.bench_rules import Row, gc_off, machine
from benchmarks.table import table
from tca_gate import Rule, compile_rule
from tca_gate.audit import AuditResult, Holdings, audit

SAT = 100_000_000
HOLDERS = 1_000_000
SAMPLE = 20_000
ROUNDS = 5

AUDIT_TARGET_S = 1.0
CLI_TARGET_S = 5.0
RATIO_TARGET = 30.0

ASSETS = (
    "LTBCOIN", "TOKENLY", "LTBSTAFF", "BITCRYSTALS", "XCP",
    "PEPECASH", "SOUP", "FLDC", "GEMZ", "DIAMONDS",
)  # fmt: skip
#: Ten rules of 1 to 5 clauses: every operator, ``<`` and ``<=`` (which also need a
#: positive balance), and OR groups.
RULES: dict[str, str] = {
    "whale": "LTBCOIN >= 50000",
    "staff_or_whale": "LTBSTAFF >= 1 or LTBCOIN >= 75000",
    "newcomer": "TOKENLY < 10",
    "lounge": "(TOKENLY > 0 and LTBCOIN >= 100) or LTBSTAFF >= 1",
    "collector": "BITCRYSTALS >= 500 and XCP >= 5 and PEPECASH > 1000",
    "small_fry": "SOUP <= 250 and FLDC != 0",
    "exact": "GEMZ == 0 or DIAMONDS == 42",
    "mixed": "(XCP > 10 and SOUP < 5000) or (GEMZ >= 60000 and DIAMONDS <= 100)",
    "broad": "LTBCOIN > 0 or TOKENLY > 0 or XCP > 0 or FLDC > 0 or GEMZ > 0",
    "deep": "LTBCOIN >= 1000 and TOKENLY >= 1 and BITCRYSTALS < 90000 and SOUP != 7 and XCP > 0",
}


def build_holdings(count: int, seed: int = 20261206) -> tuple[list[str], dict[str, np.ndarray]]:
    """``count`` holders; each asset held by about two in three, up to 100,000 tokens."""
    rng = np.random.default_rng(seed)
    holders = [f"holder{index:07d}" for index in range(count)]
    columns: dict[str, np.ndarray] = {}
    for asset in ASSETS:
        amounts = rng.integers(0, 100_000 * SAT, count, dtype=np.int64)
        amounts[rng.random(count) < 1 / 3] = 0
        columns[asset] = amounts
    columns["DIAMONDS"][::97] = 42 * SAT  # some meet "== 42" exactly
    return holders, columns


def sheets_of(
    holders: Sequence[str], columns: Mapping[str, np.ndarray], count: int
) -> list[dict[str, int]]:
    """The first ``count`` holders' balances as ``Rule.evaluate`` takes them (held assets)."""
    lists = {asset: column[:count].tolist() for asset, column in columns.items()}
    return [
        {asset: values[row] for asset, values in lists.items() if values[row]}
        for row in range(min(count, len(holders)))
    ]


def check_answers(
    result: AuditResult, rules: Mapping[str, Rule], sheets: Sequence[dict[str, int]]
) -> None:
    """``audit``'s answers are ``Rule.evaluate``'s on the sample, before anything is timed."""
    for name, rule in rules.items():
        expected = [rule.evaluate(sheet) for sheet in sheets]
        assert result.mask(name)[: len(sheets)].tolist() == expected, name


def time_in_memory(
    rules: Mapping[str, Rule], holdings: Holdings, sheets: Sequence[dict[str, int]], rounds: int
) -> tuple[list[float], list[float]]:
    """Seconds of ``audit`` over every holder, and of ``Rule.evaluate`` per sample holder."""
    evaluators = [rule.evaluate for rule in rules.values()]
    audits: list[float] = []
    loops: list[float] = []
    clock = time.perf_counter
    with gc_off():
        for round_ in range(rounds):
            for which in ("audit", "loop") if round_ % 2 == 0 else ("loop", "audit"):
                start = clock()
                if which == "audit":
                    audit(rules, holdings)
                    audits.append(clock() - start)
                else:
                    for sheet in sheets:
                        for evaluate in evaluators:
                            evaluate(sheet)
                    loops.append(clock() - start)
    return audits, loops


def command() -> list[str]:
    """``tca-gate``, the console script beside this Python, else ``python -m tca_gate``."""
    script = Path(sys.executable).with_name("tca-gate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tca_gate"]


def write_files(
    folder: str, holders: Sequence[str], columns: Mapping[str, np.ndarray]
) -> dict[str, Path]:
    """The rules, and the holders as Parquet (the target's), CSV and JSON lines."""
    paths = {form: Path(folder, f"holders.{form}") for form in ("parquet", "csv", "jsonl")}
    paths["rules"] = Path(folder, "rules.toml")
    table_ = pa.table({"holder": pa.array(holders, pa.string()), **columns})
    pq.write_table(table_, paths["parquet"])
    arrow_csv.write_csv(table_, paths["csv"], arrow_csv.WriteOptions(quoting_style="none"))
    with paths["jsonl"].open("w", encoding="utf-8") as file:
        file.writelines(json.dumps(row) + "\n" for row in table_.to_pylist())
    paths["rules"].write_text(
        "[rules]\n" + "".join(f"{n} = {json.dumps(t)}\n" for n, t in RULES.items()), "utf-8"
    )
    return paths


#: The command's runs: (label, holder file, extra arguments).
CLI_RUNS = (
    ("summary", "parquet", ()),
    ("json", "parquet", ("--json",)),
    ("csv", "csv", ()),
    ("jsonl", "jsonl", ()),
)


def time_cli(
    holders: Sequence[str], columns: Mapping[str, np.ndarray], result: AuditResult, rounds: int
) -> dict[str, list[float]]:
    """Wall seconds of ``tca-gate audit RULES --holders FILE --sat`` as a process."""
    times: dict[str, list[float]] = {label: [] for label, _, _ in CLI_RUNS}
    with tempfile.TemporaryDirectory() as folder:
        paths = write_files(folder, holders, columns)
        for form in ("parquet", "csv", "jsonl"):
            argv = [*command(), "audit", str(paths["rules"]), "--holders", str(paths[form])]
            done = subprocess.run([*argv, "--sat", "--json"], capture_output=True, check=True)
            answer = json.loads(done.stdout)
            assert answer["holders"] == len(holders), form
            for name in RULES:  # the command answers as audit() does
                assert answer["rules"][name]["passed"] == result.count(name), (form, name)
                assert answer["rules"][name]["holders"] == list(result.passed(name)), name
            del answer, done
        for _ in range(rounds):
            for label, form, extra in CLI_RUNS:
                argv = [*command(), "audit", str(paths["rules"]), "--holders", str(paths[form])]
                start = time.perf_counter()
                subprocess.run([*argv, "--sat", *extra], stdout=subprocess.DEVNULL, check=True)
                times[label].append(time.perf_counter() - start)
    return times


def measure(count: int, sample: int, rounds: int) -> list[Row]:
    holders, columns = build_holdings(count)
    holdings = Holdings.from_columns(holders, columns)
    rules = {name: compile_rule(text) for name, text in RULES.items()}
    assert sorted({sum(map(len, r.groups)) for r in rules.values()}) == [1, 2, 3, 4, 5]
    sheets = sheets_of(holders, columns, sample)
    result = audit(rules, holdings)
    check_answers(result, rules, sheets)
    audits, loops = time_in_memory(rules, holdings, sheets, rounds)
    audit_s = min(audits)
    scaled_s = min(loops) * count / len(sheets)
    ratio = scaled_s / audit_s
    cli = time_cli(holders, columns, result, rounds)
    cli_s = min(cli["summary"])
    sizes = f"{count:,} holders x {len(rules)} rules"
    return [
        Row(
            "audit",
            f"audit() on prebuilt Holdings, {sizes}",
            audit_s,
            "s",
            target=f"< {AUDIT_TARGET_S:g} s",
            passed=audit_s < AUDIT_TARGET_S,
            gated=True,
            extra={"rounds": rounds, "all_s": audits},
        ),
        Row(
            "audit",
            f"Rule.evaluate per holder, {len(sheets):,} sampled, scaled to {count:,}",
            scaled_s,
            "s",
            extra={"sample": len(sheets), "sample_s": min(loops), "all_sample_s": loops},
        ),
        Row(
            "audit",
            "audit() speed-up over Rule.evaluate per holder",
            ratio,
            "x",
            target=f">= {RATIO_TARGET:g}x",
            passed=ratio >= RATIO_TARGET,
            gated=True,
        ),
        Row(
            "cli",
            f"tca-gate audit, Parquet, {sizes}, summary",
            cli_s,
            "s",
            target=f"< {CLI_TARGET_S:g} s",
            passed=cli_s < CLI_TARGET_S,
            gated=True,
            extra={"rounds": rounds, "all_s": cli["summary"], "command": command()},
        ),
        Row(
            "cli",
            "  the same with --json (every passing holder's name)",
            min(cli["json"]),
            "s",
            extra={"all_s": cli["json"]},
        ),
        Row("cli", "  the same from CSV", min(cli["csv"]), "s", extra={"all_s": cli["csv"]}),
        Row(
            "cli",
            "  the same from JSON lines",
            min(cli["jsonl"]),
            "s",
            extra={"all_s": cli["jsonl"]},
        ),
    ]


def render(rows: Sequence[Row], info: Mapping[str, Any], elapsed: float) -> str:
    load = " ".join(f"{x:.2f}" for x in info["loadavg"]) if info["loadavg"] else "n/a"
    out = [
        f"tca-gate {info['tca_gate']} audit benchmark",
        f"  Python {info['python']} ({info['implementation']}), {info['platform']}",
        f"  nproc {info['nproc']}, load average {load}",
        "",
        "Who qualifies: 10 rules of 1-5 clauses (>=, >, <, <=, ==, !=; OR groups) over holders",
        "of 10 assets. audit() and the Rule.evaluate loop interleaved, best of the rounds, gc",
        "off; the command: wall time of the process (Parquet; CSV and JSON lines for\n"
        "information), best of the rounds.",
    ]
    body = [
        [
            row.label,
            f"{row.value:.1f}x" if row.unit == "x" else f"{row.value:.3f} s",
            row.target or "-",
            row.verdict,
        ]
        for row in rows
    ]
    out.append(table(["measure", "value", "target", "result"], body))
    missed = [row for row in rows if row.gated and not row.passed]
    gated = sum(row.gated for row in rows)
    out.append("")
    out.append(f"{len(missed)} of {gated} targets missed" if missed else f"all {gated} targets met")
    out.append(f"run time {elapsed:.0f} s")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--holders", type=int, default=HOLDERS, help=f"holders ({HOLDERS:,})")
    parser.add_argument(
        "--sample", type=int, default=SAMPLE, help=f"holders Rule.evaluate judges ({SAMPLE:,})"
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"rounds ({ROUNDS})")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = measure(args.holders, args.sample, args.rounds)
    elapsed = time.perf_counter() - started
    info = machine()
    if args.json:
        print(json.dumps({"machine": info, "results": [asdict(row) for row in rows]}, indent=2))
    else:
        print(render(rows, info, elapsed))
    missed = any(row.gated and not row.passed for row in rows)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
