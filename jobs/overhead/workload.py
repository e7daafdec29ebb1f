"""``ray101 run overhead`` and ``python -m jobs.overhead``: the flags, the sweep over
task durations and strategies, Ray's own round trip beside it, and the result."""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time

import ray

from jobs.overhead import findings, microbenchmark, sweep, table
from jobs.overhead import plot as overhead_plot
from jobs.overhead.work import CPU, KINDS, spin_rate
from jobs.runtime import flags, runner
from jobs.runtime.result import JobResult

NAME = "overhead"
preflight = None  # nothing to check before Ray starts

DEFAULT_DURATIONS_MS = "0,0.1,1,10,100"


def durations_ms(text: str) -> list[float]:
    """A flag type: comma-separated task durations in milliseconds, e.g. ``0,1,10``."""
    try:
        values = sorted({float(part) for part in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of milliseconds"
        ) from None
    if len(values) < 2:
        raise argparse.ArgumentTypeError("give at least two different durations")
    if not all(0 <= v <= 10_000 for v in values):
        raise argparse.ArgumentTypeError(f"durations must be 0 to 10000 ms, got {text}")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--durations",
        type=durations_ms,
        default=durations_ms(DEFAULT_DURATIONS_MS),
        metavar="MS,MS,...",
        help=f"work per item, in milliseconds (default {DEFAULT_DURATIONS_MS})",
    )
    parser.add_argument(
        "--items",
        type=flags.at_most(flags.positive_int, 100_000),
        default=1000,
        help="items per duration (default 1000); long tasks run fewer, see --budget",
    )
    parser.add_argument(
        "--budget",
        type=flags.at_most(flags.positive_float, 60),
        default=1.0,
        help="seconds of sequential work per duration, at most: long tasks run fewer "
        "items, but at least as many as run at once (default 1.0)",
    )
    parser.add_argument(
        "--rounds",
        type=flags.at_most(flags.positive_int, 10),
        default=2,
        help="timed rounds per strategy; the fastest counts (default 2)",
    )
    parser.add_argument(
        "--overhead-ratio",
        type=flags.at_most(flags.positive_float, 1000),
        default=20.0,
        help="a batched task does at least this many times the measured task round "
        "trip in work (default 20)",
    )
    parser.add_argument(
        "--bench-seconds",
        type=flags.at_most(flags.positive_float, 10),
        default=1.0,
        help="length of each timing window of the task microbenchmark (default 1.0)",
    )
    parser.add_argument(
        "--bench-windows",
        type=flags.at_most(flags.positive_int, 50),
        default=6,
        help="timing windows per figure of the task microbenchmark; the overhead goal "
        "is the median of as many window pairs (default 6)",
    )


def run(args: argparse.Namespace, ctx: runner.Context) -> JobResult:
    start, load_before = time.perf_counter(), os.getloadavg()[0]
    cpus = ray.cluster_resources().get("CPU", 0)
    if cpus <= 0:
        raise RuntimeError("the Ray cluster has no CPUs to run tasks on")
    # ray101's own task (a CPU-bound item with no work) beside a bare one of the same shape.
    own_batch = functools.partial(sweep.run_per_item, CPU, 0)
    overhead = microbenchmark.measure(args.bench_seconds, args.bench_windows, own_batch)
    # Calibrated after the microbenchmark: right after Ray starts, the raylet is
    # still starting workers on these CPUs and the loop measured up to a third
    # slow, so a "1 ms" item took 0.7 ms.
    iterations_per_s = spin_rate()
    durations = [ms / 1e3 for ms in args.durations]
    slots = {k.name: k.slots(cpus) for k in KINDS}
    cells = []
    for kind in KINDS:
        plans = sweep.plan_cells(
            kind,
            durations,
            max_items=args.items,
            budget_s=args.budget,
            slots=slots[kind.name],
            overhead_s=overhead.round_trip_s,
            ratio=args.overhead_ratio,
            iterations_per_s=iterations_per_s,
        )
        warm_up = functools.partial(sweep.warm_workers, kind, slots[kind.name], iterations_per_s)
        cells += sweep.measure(plans, args.rounds, warm_up)

    found = findings.summarise(cells, overhead)
    load = [load_before, os.getloadavg()[0]]
    mismatches = [
        f"{c.kind} {table.duration(c.duration_s)}: {s}" for c in cells for s in c.mismatches
    ]
    kinds = {k.name: k for k in KINDS}
    lines = [
        *table.overhead_lines(overhead, found, cpus),
        "",
        *table.sweep_lines(cells, kinds, args.rounds, args.overhead_ratio),
        "",
        *table.findings_lines(list(KINDS), found),
        *findings.goal_lines(found),
        table.load_line(load, os.cpu_count() or 1),
    ]
    result = JobResult(
        name=NAME,
        ok=not mismatches,
        result={
            "break_even_ms": {n: _ms(b["per_item"]) for n, b in found.break_even.items()},
            "batched_break_even_ms": {n: _ms(b["batched"]) for n, b in found.break_even.items()},
            "batched_speedup_at_1ms": {n: c.speedup("batched") for n, c in found.headline.items()},
            "per_item_speedup_at_1ms": {
                n: c.speedup("per_item") for n, c in found.headline.items()
            },
        },
        timings=_timings(found.headline.get("cpu"), overhead, found),
        details={
            "cpus": cpus,
            "slots": slots,
            "durations_ms": args.durations,
            "max_items": args.items,
            "budget_s": args.budget,
            "rounds": args.rounds,
            "overhead_ratio": args.overhead_ratio,
            "busy_loop_iterations_per_s": iterations_per_s,
            "microbenchmark": {
                "sync_tasks_per_s": [overhead.sync.mean, overhead.sync.sd],
                "async_tasks_per_s": [overhead.async_.mean, overhead.async_.sd],
                "own_tasks_per_s": [overhead.own.mean, overhead.own.sd],
                "same_shape_tasks_per_s": [overhead.bare.mean, overhead.bare.sd],
                "own_ratio_per_window": overhead.own_ratios,
                "window_s": args.bench_seconds,
            },
            "reference": microbenchmark.REFERENCE,
            "goals": found.goals,
            "load_average_1m": load,
            "cells": [c.to_dict() for c in cells],
        },
        lines=lines,
        error=f"answers differ from sequential: {'; '.join(mismatches)}" if mismatches else None,
    )
    result.timings["wall_s"] = time.perf_counter() - start
    return result


def plot(result: JobResult):
    """``--out``: speedup against work per item, one line per strategy, break-even marked."""
    return overhead_plot.plot(result, list(KINDS))


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e3


def _timings(headline, overhead, found: findings.Findings) -> dict[str, float]:
    timings = {
        "sync_tasks_per_s": overhead.sync.mean,
        "async_tasks_per_s": overhead.async_.mean,
        "task_round_trip_ms": overhead.round_trip_s * 1e3,
        "task_overhead_ms": overhead.per_task_s * 1e3,
    }
    if found.own_tasks_per_s and found.own_ratio:
        timings["own_tasks_per_s"] = found.own_tasks_per_s
        # the goal's figure: the median over window pairs, with its range
        timings["own_overhead_ratio"] = found.own_ratio.median
        timings["own_overhead_ratio_low"] = found.own_ratio.low
        timings["own_overhead_ratio_high"] = found.own_ratio.high
    if headline is not None:  # the summary table's columns: CPU-bound 1 ms items, batched
        timings["sequential_s"] = headline.seconds["sequential"]
        timings["parallel_s"] = headline.seconds["batched"]
        timings["speedup"] = headline.speedup("batched")
    return timings


def main(argv=None) -> int:
    return runner.main_for(sys.modules[__name__], argv)
