"""The four modes timed side by side on the same pipelines, and whether they agree.

``--repeat`` keeps each mode's fastest run (every run must return the same
results); ``--warmup`` runs the sequential mode untimed first, so no mode
pays for a cold cache.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jobs.mongo.checksum import Outcome, merge
from jobs.mongo.client import make_client
from jobs.mongo.partition import (
    PARTITION_FIELD,
    PARTITIONED_PIPELINE,
    check_partitionable,
    plan_partitions,
)
from jobs.mongo.pipelines import Pipeline, task_for
from jobs.mongo.pool import (
    DEFAULT_POOL_SIZE,
    AggregatorPool,
    Settings,
    run_actors,
    run_sequential,
)
from jobs.runtime.result import speedup

# The modes compared with the sequential one.
COMPARED_MODES = ("actors", "pool", "partitioned")


@dataclass
class Measured:
    """One mode's results and its fastest time over ``--repeat`` runs."""

    outcomes: list[Outcome]
    seconds: float
    retries: int = 0
    runs: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(o.count for o in self.outcomes)


def best_of(repeat: int, body: Callable[[], tuple[list[Outcome], int]]) -> Measured:
    """Run ``body`` ``repeat`` times and keep the fastest; every run must agree."""
    best: Measured | None = None
    runs: list[float] = []
    retries = 0
    for _ in range(repeat):
        start = time.perf_counter()
        outcomes, tried = body()
        runs.append(time.perf_counter() - start)
        retries += tried
        if best is not None and not all(
            a.same_as(b) for a, b in zip(best.outcomes, outcomes, strict=True)
        ):
            raise RuntimeError("two runs of the same mode returned different results")
        if best is None or runs[-1] < best.seconds:
            best = Measured(outcomes, runs[-1])
    assert best is not None
    best.retries, best.runs = retries, runs
    return best


@dataclass
class Benchmark:
    """Every mode of one run, and how each compares with the sequential one."""

    names: list[str]
    sequential: Measured
    actors: Measured
    pool_startup_s: float
    pool: Measured
    partitioned: Measured  # one merged outcome
    partition_filters: list[dict[str, Any]]
    partition_outcomes: list[Outcome]
    pool_info: list[dict[str, Any]]

    @property
    def baseline(self) -> Outcome:
        """The unsplit scan the partitioned mode must reproduce."""
        return self.sequential.outcomes[self.names.index(PARTITIONED_PIPELINE)]

    def disagreements(self) -> dict[str, list[str]]:
        """For each compared mode, the pipelines whose results differ from the sequential's."""
        found: dict[str, list[str]] = {mode: [] for mode in COMPARED_MODES}
        for mode in ("actors", "pool"):
            measured: Measured = getattr(self, mode)
            for name, a, b in zip(
                self.names, self.sequential.outcomes, measured.outcomes, strict=True
            ):
                if not a.same_as(b):
                    found[mode].append(name)
        if not self.partitioned.outcomes[0].same_as(self.baseline):
            found["partitioned"].append(PARTITIONED_PIPELINE)
        return found

    @property
    def retries(self) -> int:
        return self.actors.retries + self.pool.retries + self.partitioned.retries

    def timings(self) -> dict[str, float]:
        seq_s, base_s = self.sequential.seconds, self.baseline.seconds
        return {
            "sequential_s": seq_s,
            "actors_s": self.actors.seconds,
            "pool_startup_s": self.pool_startup_s,
            "pool_s": self.pool.seconds,
            "partitioned_s": self.partitioned.seconds,
            "partitioned_baseline_s": base_s,
            "actors_ratio": self.actors.seconds / seq_s,
            "pool_ratio": self.pool.seconds / seq_s,
            "pool_with_startup_ratio": (self.pool_startup_s + self.pool.seconds) / seq_s,
            "partitioned_ratio": self.partitioned.seconds / base_s if base_s > 0 else math.inf,
            # The keys every workload's summary table shows; the warm pool is "parallel".
            "parallel_s": self.pool.seconds,
            "speedup": speedup(seq_s, self.pool.seconds),
        }


def benchmark(
    settings: Settings,
    pipelines: Sequence[Pipeline],
    pool_size: int = DEFAULT_POOL_SIZE,
    partitions: int | None = None,
    repeat: int = 1,
    warmup: int = 1,
) -> Benchmark:
    """Run every mode against the server in ``settings`` (Ray must be connected)."""
    scan = {p.name: p for p in pipelines}[PARTITIONED_PIPELINE]
    check_partitionable(scan)
    tasks = [task_for(p) for p in pipelines]

    for _ in range(warmup):
        run_sequential(settings, tasks)
    sequential = best_of(repeat, lambda: (run_sequential(settings, tasks), 0))
    actors = best_of(repeat, lambda: run_actors(settings, tasks))

    start = time.perf_counter()
    pool = AggregatorPool(settings, pool_size)
    try:
        pool.wait_ready()
        client = make_client(settings.uri)
        try:
            filters = plan_partitions(
                client[settings.database], scan, PARTITION_FIELD, partitions or pool_size
            )
        finally:
            client.close()
        pool_startup_s = time.perf_counter() - start
        part_tasks = [task_for(scan, f, i) for i, f in enumerate(filters)]
        parts: list[Outcome] = []

        def pooled() -> tuple[list[Outcome], int]:
            before = pool.retries
            return pool.run(tasks), pool.retries - before

        def split() -> tuple[list[Outcome], int]:
            before = pool.retries
            parts[:] = pool.run(part_tasks)
            return [merge(parts)], pool.retries - before

        pooled_m = best_of(repeat, pooled)
        split_m = best_of(repeat, split)
        return Benchmark(
            names=[p.name for p in pipelines],
            sequential=sequential,
            actors=actors,
            pool_startup_s=pool_startup_s,
            pool=pooled_m,
            partitioned=split_m,
            partition_filters=filters,
            partition_outcomes=list(parts),
            pool_info=list(pool.info),
        )
    finally:
        pool.close()
