#!/usr/bin/env python
"""Benchmark tca-gate rules: evaluation, parse+compile, cached lookup and explain.

Run ``python benchmarks/bench_rules.py`` (add ``--check`` to exit 1 when a
target is missed, ``--json`` for machine-readable output). Everything is
measured in one run: each figure is timed interleaved with its baseline
(round-robin, alternating order), the best of many rounds is kept, and the
``timeit`` loop overhead (an empty statement timed the same way) is subtracted
from per-call figures. The garbage collector is off while timing, as ``timeit``
does. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import timeit
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if not __package__:
    # Run as a file: import the benchmarks from the repository root, as ``-m`` does.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import tca_gate
from benchmarks.table import table
from tca_gate import Rule, compile_rule
from tca_gate.rules._compile import _compile_text
from tca_gate.rules._dialect_strict import read_strict_query
from tca_gate.rules._evaluator import _template
from tca_gate.rules._readable import read_expression

SAT = 100_000_000

#: Wall-clock length of one timing sample (a ``timeit`` call of ``number`` loops).
SAMPLE_S = 0.004
#: Rounds of interleaved samples for the per-call (ns) measurements.
EVAL_ROUNDS = 80
#: Single calls (each alternating with its counterpart) for parse+compile.
COMPILE_CALLS = 1000

EVAL_TARGET_RATIO = 1.5
EVAL_TARGET_SIZES = (3, 10)
COMPILE_TARGET_US = 200.0
LOOKUP_TARGET_NS = 1000.0

_REAL_NAMES = ("LTBCOIN", "TOKENLY", "LTBSTAFF", "BITCRYSTALS", "XCP", "PEPECASH")
_UNRELATED = ("BTC", "SOUP", "RAREPEPE", "FLDC", "GEMZ", "SJCX", "BCY", "DIAMONDS")
_AMOUNTS = (1000, 10, 1, 25000, 100, 5, 50)  # whole tokens


def asset_names(count: int) -> list[str]:
    """Distinct asset names the strict dialect accepts (letters, 4 to 12 of them)."""
    names = list(_REAL_NAMES)
    index = 0
    while len(names) < count:
        a, rest = divmod(index, 26 * 26)
        b, c = divmod(rest, 26)
        names.append("TKN" + chr(65 + a) + chr(65 + b) + chr(65 + c))
        index += 1
    return names[:count]


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Case:
    """A rule (as groups of (asset, whole tokens)) with balances that exercise it."""

    groups: tuple[tuple[tuple[str, int], ...], ...]
    balances: dict[str, int]

    @property
    def size(self) -> int:
        return sum(map(len, self.groups))

    def query(self) -> str:
        parts: list[str] = []
        index = 0
        for number, group in enumerate(self.groups):
            for position, (asset, tokens) in enumerate(group):
                parts.append(f"{asset}={tokens}")
                if number and position == 0:
                    parts.append(f"stackop_{index}=OR")
                index += 1
        return "&".join(parts)

    def expression(self) -> str:
        return " or ".join(
            " and ".join(f"{asset} >= {tokens}" for asset, tokens in group) for group in self.groups
        )

    def lambda_source(self) -> str:
        """What a developer would write by hand for the same rule."""
        alternatives = [
            " and ".join(f'b.get("{asset}", 0) >= {tokens * SAT}' for asset, tokens in group)
            for group in self.groups
        ]
        if len(alternatives) == 1:
            return "lambda b: " + alternatives[0]
        return "lambda b: " + " or ".join(f"({a})" for a in alternatives)


def _balances(held: Mapping[str, int]) -> dict[str, int]:
    """Balances as they arrive from an API: unrelated assets too, keys fresh from JSON."""
    sheet = dict.fromkeys(_UNRELATED, 7 * SAT + 12345)
    sheet.update(held)
    fresh: dict[str, int] = json.loads(json.dumps(sheet))
    return fresh


def and_case(size: int, *, deny: bool = False) -> Case:
    """One AND group of ``size`` clauses, every one passing (so every one is read).

    With ``deny`` the last clause falls one base unit short.
    """
    names = asset_names(size)
    clauses = tuple((name, _AMOUNTS[i % len(_AMOUNTS)]) for i, name in enumerate(names))
    held = {asset: tokens * SAT + SAT for asset, tokens in clauses}
    if deny:
        asset, tokens = clauses[-1]
        held[asset] = tokens * SAT - 1
    return Case((clauses,), _balances(held))


def or_case(size: int) -> Case:
    """Groups of two clauses; every group but the last fails at its last clause.

    So every clause is read and the answer comes from the last group.
    """
    names = asset_names(size)
    clauses = [(name, _AMOUNTS[i % len(_AMOUNTS)]) for i, name in enumerate(names)]
    groups = tuple(tuple(clauses[i : i + 2]) for i in range(0, size, 2))
    held = {asset: tokens * SAT + SAT for asset, tokens in clauses}
    for group in groups[:-1]:
        asset, tokens = group[-1]
        held[asset] = tokens * SAT - 1
    return Case(groups, _balances(held))


def vary_amounts(case: Case, seed: int) -> Case:
    """The same shape with other amounts: a text the compile cache has never seen."""
    groups = tuple(
        tuple((asset, tokens + seed + 1) for asset, tokens in group) for group in case.groups
    )
    return Case(groups, case.balances)


# --------------------------------------------------------------------------- timing


@contextmanager
def gc_off() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _timer(stmt: str, **names: object) -> timeit.Timer:
    # The setup binds every name as a local of timeit's inner function, so the
    # timed statement pays LOAD_FAST, not a global lookup.
    setup = "; ".join(f"{name} = _g_{name}" for name in names) or "pass"
    return timeit.Timer(stmt, setup, globals={f"_g_{n}": v for n, v in names.items()})


def _calibrate(timer: timeit.Timer) -> int:
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= SAMPLE_S / 5:
            return max(1, round(number * SAMPLE_S / elapsed))
        number *= 10


def interleaved_ns(timers: Mapping[str, timeit.Timer], rounds: int) -> dict[str, list[float]]:
    """Per-call ns of each timer, ``rounds`` samples each, taken round-robin."""
    numbers = {name: _calibrate(timer) for name, timer in timers.items()}
    samples: dict[str, list[float]] = {name: [] for name in timers}
    order = list(timers)
    for round_ in range(rounds):
        for name in order if round_ % 2 == 0 else reversed(order):
            # Timer.timeit turns the gc off itself while it loops.
            elapsed = timers[name].timeit(numbers[name])
            samples[name].append(elapsed * 1e9 / numbers[name])
    return samples


def interleaved_single_ns(
    calls: Mapping[str, tuple[Callable[[], object] | None, Callable[[int], object]]],
    repeats: int,
) -> dict[str, list[int]]:
    """ns of single calls; each entry is (prepare or None, call(i)), taken round-robin."""
    samples: dict[str, list[int]] = {name: [] for name in calls}
    order = list(calls)
    clock = time.perf_counter_ns
    with gc_off():
        for i in range(repeats):
            for name in order if i % 2 == 0 else reversed(order):
                prepare, call = calls[name]
                if prepare is not None:
                    prepare()
                start = clock()
                call(i)
                samples[name].append(clock() - start)
            if i % 100 == 99:  # the rules built so far are garbage: free them untimed
                gc.collect()
    return samples


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    section: str
    label: str
    value: float
    unit: str
    target: str = ""
    passed: bool | None = None
    gated: bool = False  # whether --check fails on a miss
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "-"
        word = "PASS" if self.passed else "MISS"
        return word if self.gated else f"{word} (info)"


def fmt_time(value_ns: float) -> str:
    if value_ns >= 10_000:
        return f"{value_ns / 1000:.0f} µs"
    if value_ns >= 1000:
        return f"{value_ns / 1000:.2f} µs"
    return f"{value_ns:.1f} ns"


def bench_evaluation(rows: list[Row]) -> None:
    section = "evaluate"
    variants: list[tuple[str, Callable[[int], Case], Sequence[int]]] = [
        ("and", and_case, (1, 3, 10, 100)),
        ("or", or_case, (3, 10, 100)),
    ]
    for variant, make, sizes in variants:
        for size in sizes:
            case = make(size)
            rule = compile_rule(case.query())
            by_hand = eval(case.lambda_source())
            assert len(rule.groups) == len(case.groups), case.query()
            assert rule.evaluate(case.balances) is by_hand(case.balances) is True
            # Both refuse alike when the deciding clause fails.
            worse = dict(case.balances)
            last_asset = case.groups[-1][-1][0]
            worse[last_asset] = 0
            assert rule.evaluate(worse) is by_hand(worse) is False
            samples = interleaved_ns(
                {
                    "rule": _timer("f(b)", f=rule.evaluate, b=case.balances),
                    "lambda": _timer("f(b)", f=by_hand, b=case.balances),
                    "loop": _timer("pass"),
                },
                EVAL_ROUNDS,
            )
            loop = min(samples["loop"])
            rule_ns = min(samples["rule"]) - loop
            hand_ns = min(samples["lambda"]) - loop
            ratio = rule_ns / hand_ns
            paired = statistics.median(
                (r - loop) / (h - loop)
                for r, h in zip(samples["rule"], samples["lambda"], strict=True)
            )
            gated = variant == "and" and size in EVAL_TARGET_SIZES
            groups = "1 AND group" if variant == "and" else f"{len(case.groups)} OR groups"
            rows.append(
                Row(
                    section,
                    f"{size} clause{'s' if size > 1 else ''}, {groups}",
                    ratio,
                    "x",
                    target=f"<= {EVAL_TARGET_RATIO}" if gated else "",
                    passed=(ratio <= EVAL_TARGET_RATIO) if gated else None,
                    gated=gated,
                    extra={
                        "variant": variant,
                        "clauses": size,
                        "rule_ns": rule_ns,
                        "lambda_ns": hand_ns,
                        "loop_overhead_ns": loop,
                        "median_paired_ratio": paired,
                        "rule_median_ns": statistics.median(samples["rule"]) - loop,
                        "lambda_median_ns": statistics.median(samples["lambda"]) - loop,
                        "rounds": EVAL_ROUNDS,
                    },
                )
            )


def bench_compile(rows: list[Row]) -> None:
    section = "compile"
    base = and_case(10)
    compile_text = _compile_text.__wrapped__
    forms: list[tuple[str, Callable[[Case], str]]] = [
        ("stack query", Case.query),
        ("readable expr", Case.expression),
    ]

    def compiling(texts: Sequence[str]) -> Callable[[int], object]:
        """The timed call: compile the ``i``th of ``texts``."""
        return lambda i: compile_text(texts[i], "strict")

    for form, render in forms:
        # Distinct texts of one shape (other amounts), so no call repeats a text.
        warm = [render(vary_amounts(base, 2 * i)) for i in range(COMPILE_CALLS)]
        cold = [render(vary_amounts(base, 2 * i + 1)) for i in range(COMPILE_CALLS)]
        for text in (warm[0], cold[0]):
            rule = compile_text(text, "strict")
            assert [len(g) for g in rule.groups] == [10], text
        compile_text(warm[0], "strict")  # the shape's template is now cached
        samples = interleaved_single_ns(
            {
                "seen": (None, compiling(warm)),
                "cold": (_template.cache_clear, compiling(cold)),
            },
            COMPILE_CALLS,
        )
        for key, label in (
            ("seen", "new text, seen shape (template cached)"),
            ("cold", "new text, cold shape (_template cleared)"),
        ):
            best = min(samples[key])
            gated = key == "seen"
            rows.append(
                Row(
                    section,
                    f"{form}: {label}",
                    best / 1000,
                    "µs",
                    target=f"< {COMPILE_TARGET_US:.0f} µs",
                    passed=best / 1000 < COMPILE_TARGET_US,
                    gated=gated,
                    extra={
                        "form": form,
                        "shape": key,
                        "median_us": statistics.median(samples[key]) / 1000,
                        "calls": COMPILE_CALLS,
                        "text": warm[0] if key == "seen" else cold[0],
                    },
                )
            )
    # Where the time goes: parsing each form, and building the Rule from its groups.
    query_text, expr_text = base.query(), base.expression()
    groups = read_strict_query(query_text).groups
    samples = interleaved_single_ns(
        {
            "parse query": (None, lambda _i: read_strict_query(query_text)),
            "parse expr": (None, lambda _i: read_expression(expr_text)),
            "Rule() seen shape": (None, lambda _i: Rule(groups)),
            "Rule() cold shape": (_template.cache_clear, lambda _i: Rule(groups)),
        },
        COMPILE_CALLS,
    )
    for name, values in samples.items():
        rows.append(
            Row(
                section,
                f"  of which: {name}",
                min(values) / 1000,
                "µs",
                extra={"median_us": statistics.median(values) / 1000},
            )
        )


def bench_lookup(rows: list[Row]) -> None:
    text = and_case(10).query()
    first = compile_rule(text)
    assert compile_rule(text) is first
    hits = _compile_text.cache_info().hits
    samples = interleaved_ns(
        {
            "lookup": _timer("f(t)", f=compile_rule, t=text),
            "loop": _timer("pass"),
        },
        EVAL_ROUNDS,
    )
    assert _compile_text.cache_info().hits > hits
    value = min(samples["lookup"]) - min(samples["loop"])
    rows.append(
        Row(
            "lookup",
            "compile_rule(text), 10-clause text, cache hit",
            value,
            "ns",
            target=f"< {LOOKUP_TARGET_NS:.0f} ns",
            passed=value < LOOKUP_TARGET_NS,
            gated=True,
            extra={"median_ns": statistics.median(samples["lookup"]) - min(samples["loop"])},
        )
    )


def bench_explain(rows: list[Row]) -> None:
    for size in (3, 10):
        case = and_case(size, deny=True)
        rule = compile_rule(case.query())
        decision = rule.explain(case.balances)
        assert not decision.allowed
        assert rule.evaluate(case.balances) is False
        samples = interleaved_ns(
            {
                "explain": _timer("f(b)", f=rule.explain, b=case.balances),
                "evaluate": _timer("f(b)", f=rule.evaluate, b=case.balances),
                "loop": _timer("pass"),
            },
            EVAL_ROUNDS,
        )
        loop = min(samples["loop"])
        explain_ns = min(samples["explain"]) - loop
        evaluate_ns = min(samples["evaluate"]) - loop
        rows.append(
            Row(
                "explain",
                f"{size} clauses, 1 AND group, denied (last clause short)",
                explain_ns / 1000,
                "µs",
                extra={
                    "evaluate_ns": evaluate_ns,
                    "x_evaluate": explain_ns / evaluate_ns,
                    "median_us": (statistics.median(samples["explain"]) - loop) / 1000,
                },
            )
        )


# --------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = None
    try:
        load = os.getloadavg()
    except (AttributeError, OSError):
        load = None
    return {
        "tca_gate": tca_gate.__version__,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "nproc": os.cpu_count(),
        "cpu_affinity": affinity,
        "loadavg": load,
    }


def render(rows: Sequence[Row], info: Mapping[str, Any], elapsed: float) -> str:
    out: list[str] = []
    affinity = f", {info['cpu_affinity']} usable" if info["cpu_affinity"] is not None else ""
    load = " ".join(f"{x:.2f}" for x in info["loadavg"]) if info["loadavg"] else "n/a"
    out.append(f"tca-gate {info['tca_gate']} benchmark")
    out.append(f"  Python {info['python']} ({info['implementation']}), {info['platform']}")
    out.append(f"  nproc {info['nproc']}{affinity}, load average {load}")
    loops = [r.extra["loop_overhead_ns"] for r in rows if "loop_overhead_ns" in r.extra]
    out.append(
        "  method: interleaved with its baseline, best of N, gc off;"
        f" timeit loop overhead (~{min(loops):.1f} ns) subtracted from per-call figures"
    )

    out.append("")
    out.append("1. rule.evaluate(balances) vs a hand-written lambda of the same rule")
    out.append("   (every clause passes in 1 AND group, so every clause is read; OR rows: groups")
    out.append("   of 2, each but the last fails at its last clause. Balances: the rule's assets")
    out.append(
        f"   + {len(_UNRELATED)} unrelated ones, keys from json.loads; {EVAL_ROUNDS} rounds)"
    )
    body = []
    for r in (r for r in rows if r.section == "evaluate"):
        body.append(
            [
                r.label,
                fmt_time(r.extra["rule_ns"]),
                fmt_time(r.extra["lambda_ns"]),
                f"{r.value:.2f}",
                f"{r.extra['median_paired_ratio']:.2f}",
                r.target or "-",
                r.verdict,
            ]
        )
    out.append(table(["rule", "evaluate", "lambda", "ratio", "median", "target", "result"], body))

    out.append("")
    out.append("2. Parse + compile a 10-clause rule text, compile_rule's text cache bypassed")
    out.append(f"   (_compile_text.__wrapped__; every call a new text; best of {COMPILE_CALLS})")
    body = []
    for r in (r for r in rows if r.section == "compile"):
        body.append(
            [
                r.label,
                f"{r.value:.0f} µs",
                f"{r.extra['median_us']:.0f} µs",
                r.target or "-",
                r.verdict,
            ]
        )
    out.append(table(["case", "best", "median", "target", "result"], body))

    out.append("")
    out.append("3. Cached compile")
    body = [
        [r.label, fmt_time(r.value), fmt_time(r.extra["median_ns"]), r.target, r.verdict]
        for r in rows
        if r.section == "lookup"
    ]
    out.append(table(["case", "best", "median", "target", "result"], body))

    out.append("")
    out.append("4. rule.explain(balances)")
    body = [
        [
            r.label,
            f"{r.value:.1f} µs",
            f"{r.extra['median_us']:.1f} µs",
            f"{r.extra['x_evaluate']:.0f}x evaluate",
            "-",
            r.verdict,
        ]
        for r in rows
        if r.section == "explain"
    ]
    out.append(table(["case", "best", "median", "cost", "target", "result"], body))

    missed = [r for r in rows if r.gated and not r.passed]
    out.append("")
    gated = sum(r.gated for r in rows)
    if missed:
        out.append(f"{len(missed)} of {gated} targets missed:")
        out.extend(f"  - {r.section}: {r.label}" for r in missed)
    else:
        out.append(f"all {gated} targets met")
    out.append("(info) rows are shown against a target but do not fail --check.")
    out.append(f"run time {elapsed:.1f} s")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    rows: list[Row] = []
    bench_evaluation(rows)
    bench_compile(rows)
    bench_lookup(rows)
    bench_explain(rows)
    elapsed = time.perf_counter() - started

    info = machine()
    if args.json:
        report = {
            "machine": info,
            "elapsed_s": elapsed,
            "results": [asdict(r) | {"verdict": r.verdict} for r in rows],
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(render(rows, info, elapsed))
    missed = any(r.gated and not r.passed for r in rows)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
