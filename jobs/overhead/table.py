"""The sweep as the tutorial would print it: figures first, then what they mean."""

from __future__ import annotations

from jobs.overhead import microbenchmark
from jobs.overhead.findings import OWN_OVERHEAD_GOAL, Findings
from jobs.overhead.microbenchmark import TaskOverhead
from jobs.overhead.sweep import RAY_STRATEGIES, Cell
from jobs.overhead.work import Kind
from jobs.runtime.result import text_table

STRATEGY_NAMES = {"per_item": "one task per item", "batched": "batched"}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "beyond the longest measured"
    if seconds == 0:
        return "0"
    ms = seconds * 1e3
    if ms >= 1000:
        return f"{seconds:.3g} s"
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.2g} ms"


def ratio(value: float) -> str:
    return f"{value:.2f}x" if value >= 0.995 else f"{value:.2g}x"


def overhead_lines(overhead: TaskOverhead, found: Findings, cpus: float) -> list[str]:
    sync, async_ = overhead.sync, overhead.async_
    lines = [
        f"Ray task overhead on this Ray ({cpus:g} CPUs), measured as `ray microbenchmark` does:",
        f"  single client tasks sync:  {sync.mean:,.0f} +- {sync.sd:,.0f} tasks/s "
        f"(round trip {overhead.round_trip_s * 1e3:.2f} ms)",
        f"  single client tasks async: {async_.mean:,.0f} +- {async_.sd:,.0f} tasks/s "
        f"({overhead.per_task_s * 1e3:.2f} ms per task in flight)",
    ]
    own, spread = found.own_tasks_per_s, found.own_ratio
    if own is not None and spread is not None:
        lines.append(
            f"  ray101's own tasks, windows in turn with a bare task of the same arguments: "
            f"{own:,.0f} tasks/s; the bare task's rate over ray101's: median "
            f"{spread.median:.2f}x of {spread.count} window pairs ({spread.low:.2f}x to "
            f"{spread.high:.2f}x; goal: within {OWN_OVERHEAD_GOAL}x)"
        )
    lines.append(
        "  for reference (tasks/s, sync / async; this run's figures as a multiple of them):"
    )
    lines += [
        f"    {r['sync_tasks_per_s']:,.0f} / {r['async_tasks_per_s']:,.0f} "
        f"({sync.mean / r['sync_tasks_per_s']:.2f}x / {async_.mean / r['async_tasks_per_s']:.2f}x): "
        f"{r['source']}"
        for r in microbenchmark.REFERENCE
    ]
    return lines


def sweep_lines(cells: list[Cell], kinds: dict[str, Kind], rounds: int, ratio_: float) -> list[str]:
    header = ["kind", "task", "items", "sequential ms", "per item ms", "speedup"]
    header += ["chunks", "batched ms", "speedup"]
    rows = [
        [
            kinds[c.kind].label,
            duration(c.duration_s),
            f"{c.items:,}",
            f"{c.seconds['sequential'] * 1e3:,.2f}",
            f"{c.seconds['per_item'] * 1e3:,.2f}",
            ratio(c.speedup("per_item")),
            f"{len(c.chunks):,}",
            f"{c.seconds['batched'] * 1e3:,.2f}",
            ratio(c.speedup("batched")),
        ]
        for c in cells
    ]
    return [
        f"Speedup over sequential by task duration (best of {rounds} round(s); "
        f"batched: chunks of >= {ratio_:g}x the task round trip, whole waves of tasks):",
        *text_table(header, rows),
    ]


def findings_lines(kinds: list[Kind], found: Findings) -> list[str]:
    lines = [
        f"Break-even task duration, {STRATEGY_NAMES[s]}: "
        + ", ".join(f"{k.label} {duration(found.break_even[k.name][s])}" for k in kinds)
        for s in RAY_STRATEGIES
    ]
    for k in kinds:
        cell = found.headline.get(k.name)
        if cell is not None:
            lines.append(
                f"At 1 ms per item, {k.label}: batched {ratio(cell.speedup('batched'))} "
                f"sequential, one task per item {ratio(cell.speedup('per_item'))}"
            )
    return lines


def load_line(load: list[float], cores: int) -> str:
    """The machine's load, so a reader can tell a figure from a noisy neighbour."""
    line = f"Load average (1 min) {load[0]:.1f} at the start, {load[1]:.1f} at the end, on {cores} cores"
    if max(load) > cores:
        line += ": other processes shared the CPUs, so the CPU-bound figures are not Ray's alone"
    return line
