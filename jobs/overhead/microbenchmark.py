"""Ray's own task overhead, measured as ``ray microbenchmark`` measures it.

Ray 2.60's ``python/ray/_private/ray_perf.py`` times "single client tasks sync"
(``ray.get(small_value.remote())`` in a loop) and "single client tasks async"
(``ray.get`` of 1000 ``small_value`` tasks submitted at once), with
``ray_microbenchmark_helpers.timeit``: one second of warm-up, then four
two-second windows, reporting the mean and spread of calls per second. The
same loops run here, on the Ray this job uses; the windows are shorter (and
Ray's 10 s settling sleep is left out) so the figures fit in a job's budget.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import ray

# Tasks per ``ray.get`` in the async figure, as in ray_perf.py.
ASYNC_BATCH = 1000

# What Ray itself reports, to read this run's figures against (tasks per second).
REFERENCE = (
    {
        "source": "`ray microbenchmark` (Ray 2.60.0) on the 2-core development machine",
        "sync_tasks_per_s": 475.0,
        "async_tasks_per_s": 1578.0,
    },
    {
        "source": "Ray release microbenchmark, m5.16xlarge (64 vCPUs), "
        "release/perf_metrics/microbenchmark.json",
        "sync_tasks_per_s": 805.0,
        "async_tasks_per_s": 7175.0,
    },
)


@ray.remote
def small_value() -> bytes:
    return b"ok"  # ray_perf.py's task: default resources, a tiny return value


@dataclass(frozen=True)
class Rate:
    """Calls per second (times ``multiplier``): mean and standard deviation over windows."""

    mean: float
    sd: float


def rates(
    fns: list[Callable[[], object]], multiplier: int, window_s: float, windows: int
) -> list[Rate]:
    """ray_perf's ``timeit`` for each of ``fns``: warm up for a window, then count
    calls in ``windows`` windows. Several functions take their windows in turn,
    so a load that comes and goes on the machine weighs on each alike."""
    steps = []
    for fn in fns:
        start, count = time.perf_counter(), 0
        while time.perf_counter() - start < window_s:
            fn()
            count += 1
        steps.append(count // 10 + 1)  # check the clock every tenth of a warm-up's calls
    stats: list[list[float]] = [[] for _ in fns]
    for _ in range(windows):
        for fn, step, figures in zip(fns, steps, stats, strict=True):
            start, count = time.perf_counter(), 0
            while time.perf_counter() - start < window_s:
                for _ in range(step):
                    fn()
                count += step
            figures.append(multiplier * count / (time.perf_counter() - start))
    return [Rate(statistics.fmean(f), statistics.pstdev(f)) for f in stats]


def sync_task() -> None:
    ray.get(small_value.remote())


def async_tasks() -> None:
    ray.get([small_value.remote() for _ in range(ASYNC_BATCH)])


@dataclass(frozen=True)
class TaskOverhead:
    sync: Rate
    async_: Rate
    own: Rate | None = None  # the caller's own tasks, timed like ``async_``

    @property
    def round_trip_s(self) -> float:
        """One task submitted and waited for, alone."""
        return 1.0 / self.sync.mean

    @property
    def per_task_s(self) -> float:
        """What each task costs when many are in flight: the figure batching amortises."""
        return 1.0 / self.async_.mean


def measure(
    window_s: float, windows: int = 3, own_batch: Callable[[int], object] | None = None
) -> TaskOverhead:
    """Ray's sync and async task rates; with ``own_batch`` (submit and wait for
    that many of the caller's tasks), the caller's rate too, its windows taken
    in turn with the async ones."""
    (sync,) = rates([sync_task], 1, window_s, windows)
    if own_batch is None:
        (async_,) = rates([async_tasks], ASYNC_BATCH, window_s, windows)
        return TaskOverhead(sync, async_)
    async_, own = rates(
        [async_tasks, lambda: own_batch(ASYNC_BATCH)], ASYNC_BATCH, window_s, windows
    )
    return TaskOverhead(sync, async_, own)
