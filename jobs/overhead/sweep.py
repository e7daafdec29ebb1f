"""The sweep: every kind and task duration, run sequentially, one Ray task per item, batched."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import ray

from jobs.overhead.batching import chunk_count, plan_chunks
from jobs.overhead.work import Kind, hold_worker
from jobs.runtime.result import speedup, timed

RAY_STRATEGIES = ("per_item", "batched")
STRATEGIES = ("sequential", *RAY_STRATEGIES)

log = logging.getLogger(__name__)

# The raylet ends idle workers beyond one per CPU after a second
# (idle_worker_killing_time_threshold_ms), so a sequential run about that long
# leaves the fractional-CPU sleep tasks too few workers: they are started again,
# untimed, after any sequential run longer than this.
IDLE_WORKER_GRACE_S = 0.5


@dataclass
class Cell:
    """One kind at one task duration: the best time of each strategy."""

    kind: str
    duration_s: float
    items: int
    chunks: list[range]
    seconds: dict[str, float] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    def speedup(self, strategy: str) -> float:
        return speedup(self.seconds["sequential"], self.seconds[strategy])

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "duration_ms": self.duration_s * 1e3,
            "items": self.items,
            "chunks": len(self.chunks),
            "items_per_chunk": max((len(c) for c in self.chunks), default=0),
            **{f"{s}_s": self.seconds[s] for s in STRATEGIES},
            "speedup_per_item": self.speedup("per_item"),
            "speedup_batched": self.speedup("batched"),
        }


def cell_items(duration_s: float, max_items: int, budget_s: float, slots: int) -> int:
    """Items for one cell: ``max_items``, or fewer for long tasks so that the
    sequential run stays near ``budget_s``; then whole waves of ``slots`` tasks,
    so a half-empty last wave does not halve the parallel speedup."""
    if duration_s <= 0:
        return max_items
    wanted = min(max_items, math.ceil(budget_s / duration_s))
    return min(max_items, math.ceil(wanted / slots) * slots)


def run_sequential(kind: Kind, param, items: int) -> list[int]:
    return [kind.item(param, i) for i in range(items)]


def run_per_item(kind: Kind, param, items: int) -> list[int]:
    return ray.get([kind.item_task.remote(param, i) for i in range(items)])


def run_batched(kind: Kind, param, chunks: list[range]) -> list[int]:
    refs = [kind.chunk_task.remote(param, c.start, c.stop) for c in chunks]
    return [value for chunk in ray.get(refs) for value in chunk]


def warm_workers(kind: Kind, slots: int, iterations_per_s: float, timeout_s: float = 10) -> None:
    """Start the worker processes a burst of this kind needs, and load its task
    functions in them, before timing it.

    Ray starts workers beyond the prestarted ones on demand, and a busy machine
    takes seconds to start them: waves of short tasks run until ``slots`` of them
    ran in ``slots`` different processes at once, or ``timeout_s`` passes (on
    a saturated machine: the timings then include some worker start-up).
    """
    hold = hold_worker.options(num_cpus=kind.task_cpus)
    deadline = time.monotonic() + timeout_s
    while len(set(ray.get([hold.remote(0.2) for _ in range(slots)]))) < slots:
        if time.monotonic() > deadline:
            log.warning("only some of %d %s workers started in %.0f s", slots, kind.name, timeout_s)
            break
    param = kind.param(0.01, iterations_per_s)
    ray.get([kind.item_task.remote(param, i) for i in range(slots)])
    ray.get([kind.chunk_task.remote(param, i, i + 1) for i in range(slots)])


@dataclass(frozen=True)
class Plan:
    kind: Kind
    duration_s: float
    param: float | int
    items: int
    chunks: list[range]


def plan_cells(
    kind: Kind,
    durations_s: list[float],
    *,
    max_items: int,
    budget_s: float,
    slots: int,
    overhead_s: float,
    ratio: float,
    iterations_per_s: float,
) -> list[Plan]:
    plans = []
    for d in durations_s:
        items = cell_items(d, max_items, budget_s, slots)
        count = chunk_count(items, d, overhead_s, ratio, slots)
        plans.append(
            Plan(kind, d, kind.param(d, iterations_per_s), items, plan_chunks(items, count))
        )
    return plans


def measure(plans: list[Plan], rounds: int, warm_up: Callable[[], None]) -> list[Cell]:
    """Time every plan: best of ``rounds`` per strategy; check every answer.

    Each round runs the three strategies back to back, so a load that comes
    and goes on the machine weighs on all three alike. ``warm_up`` runs first,
    and again after a sequential run long enough for Ray to have ended idle
    workers.
    """
    warm_up()
    cells = []
    for plan in plans:
        cell = Cell(plan.kind.name, plan.duration_s, plan.items, plan.chunks)
        cell.seconds = dict.fromkeys(STRATEGIES, math.inf)
        for _ in range(rounds):
            want, seconds = timed(run_sequential, plan.kind, plan.param, plan.items)
            cell.seconds["sequential"] = min(cell.seconds["sequential"], seconds)
            if seconds > IDLE_WORKER_GRACE_S:
                warm_up()
            for strategy, fn, arg in (
                ("per_item", run_per_item, plan.items),
                ("batched", run_batched, plan.chunks),
            ):
                values, seconds = timed(fn, plan.kind, plan.param, arg)
                cell.seconds[strategy] = min(cell.seconds[strategy], seconds)
                if values != want and strategy not in cell.mismatches:
                    cell.mismatches.append(strategy)
        cells.append(cell)
    return cells


def break_even(durations_s: list[float], speedups: list[float]) -> float | None:
    """The task duration at which Ray's speedup over sequential reaches 1.

    Interpolated between the two measured durations around the last crossing
    from below, linearly in log(duration) and log(speedup) (linearly in
    duration when the lower one is 0). ``durations_s[0]`` when Ray is never
    slower; None when Ray is still slower at the longest duration measured.
    """
    points = sorted(zip(durations_s, speedups, strict=True))
    losing = [i for i, (_, s) in enumerate(points) if s < 1]
    if not losing:
        return points[0][0] if points else None
    i = losing[-1]
    if i == len(points) - 1:
        return None
    (d0, s0), (d1, s1) = points[i], points[i + 1]
    if s0 <= 0:
        return d1
    t = -math.log(s0) / (math.log(s1) - math.log(s0))  # where log(speedup) crosses 0
    if d0 <= 0:
        return t * d1
    return math.exp(math.log(d0) + t * (math.log(d1) - math.log(d0)))
