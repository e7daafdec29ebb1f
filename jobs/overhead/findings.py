"""What the sweep's figures say: break-even durations, the 1 ms headline, the goals."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from jobs.overhead.microbenchmark import TaskOverhead
from jobs.overhead.sweep import RAY_STRATEGIES, Cell, break_even

# The headline cell: a millisecond of work per item.
HEADLINE_S = 1e-3
# Goals on a 2-core machine: batching turns 1 ms CPU-bound items into this
# speedup, and ray101's own tasks cost no more than this times Ray's.
BATCHED_GOAL = 1.6
OWN_OVERHEAD_GOAL = 1.1
GOAL_BATCHED, GOAL_OWN = "batched_cpu_1ms", "own_overhead_within_1_1x"


@dataclass(frozen=True)
class Spread:
    """The median of repeated ratios, with the lowest and highest beside it."""

    median: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, ratios: list[float]) -> Spread | None:
        if not ratios:
            return None
        return cls(statistics.median(ratios), min(ratios), max(ratios), len(ratios))


@dataclass(frozen=True)
class Findings:
    # kind -> strategy -> task duration (s) where Ray catches up with sequential
    break_even: dict[str, dict[str, float | None]]
    # kind -> the cell at HEADLINE_S, when it was measured
    headline: dict[str, Cell]
    # ray101's CPU-bound item task with no work, timed as Ray's async figure is
    own_tasks_per_s: float | None
    # a bare task's rate (same arguments) over ray101's own, window pair by window pair
    own_ratio: Spread | None
    goals: dict[str, bool]


def summarise(cells: list[Cell], overhead: TaskOverhead) -> Findings:
    by_kind: dict[str, list[Cell]] = {}
    for c in cells:
        by_kind.setdefault(c.kind, []).append(c)
    crossings = {
        kind: {
            s: break_even([c.duration_s for c in mine], [c.speedup(s) for c in mine])
            for s in RAY_STRATEGIES
        }
        for kind, mine in by_kind.items()
    }
    headline = {c.kind: c for c in cells if c.duration_s == HEADLINE_S}
    own = overhead.own.mean if overhead.own else None
    own_ratio = Spread.of(overhead.own_ratios)
    goals = {}
    if "cpu" in headline:
        goals[GOAL_BATCHED] = headline["cpu"].speedup("batched") >= BATCHED_GOAL
    if own_ratio:
        goals[GOAL_OWN] = own_ratio.median <= OWN_OVERHEAD_GOAL
    return Findings(crossings, headline, own, own_ratio, goals)


GOAL_TEXT = {
    GOAL_BATCHED: f"batched >= {BATCHED_GOAL}x sequential at 1 ms of CPU work per item",
    GOAL_OWN: f"ray101's task overhead within {OWN_OVERHEAD_GOAL}x of Ray's",
}


def goal_lines(findings: Findings) -> list[str]:
    return [
        f"Goal {'met' if met else 'missed'}: {GOAL_TEXT[name]}"
        for name, met in findings.goals.items()
    ]
