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


@ray.remote
def same_shape(iterations: int, item: int) -> int:
    """A bare task of the shape of ray101's item task (two small ints in, one
    out), for ray101's own task to be measured against. Ray pays for every
    argument: a task with none runs about 1.3 times as many per second on 2
    cores as one with two, so only a task with the same arguments tells what
    ray101's wrapper costs."""
    return item


@dataclass(frozen=True)
class Rate:
    """Calls per second (times ``multiplier``): mean and standard deviation over
    windows, and each window's figure."""

    mean: float
    sd: float
    windows: tuple[float, ...] = ()


def rates(
    fns: list[Callable[[], object]], multiplier: int, window_s: float, windows: int
) -> list[Rate]:
    """ray_perf's ``timeit`` for each of ``fns``: warm up for a window, then count
    calls in ``windows`` windows. Several functions take their windows in turn,
    so a load that comes and goes on the machine weighs on each alike, and in
    the opposite order every other window: the function timed right after
    another pays for what that one left behind (a thousand finished tasks'
    objects freed in the background), so a fixed order would tilt the ratio."""
    steps = []
    for fn in fns:
        start, count = time.perf_counter(), 0
        while time.perf_counter() - start < window_s:
            fn()
            count += 1
        steps.append(count // 10 + 1)  # check the clock every tenth of a warm-up's calls
    stats: list[list[float]] = [[] for _ in fns]
    timed = list(zip(fns, steps, stats, strict=True))
    for window in range(windows):
        for fn, step, figures in timed if window % 2 == 0 else reversed(timed):
            start, count = time.perf_counter(), 0
            while time.perf_counter() - start < window_s:
                for _ in range(step):
                    fn()
                count += step
            figures.append(multiplier * count / (time.perf_counter() - start))
    return [Rate(statistics.fmean(f), statistics.pstdev(f), tuple(f)) for f in stats]


def sync_task() -> None:
    ray.get(small_value.remote())


def async_tasks() -> None:
    ray.get([small_value.remote() for _ in range(ASYNC_BATCH)])


def same_shape_tasks() -> None:
    ray.get([same_shape.remote(0, i) for i in range(ASYNC_BATCH)])


@dataclass(frozen=True)
class TaskOverhead:
    sync: Rate
    async_: Rate
    own: Rate | None = None  # the caller's own tasks, timed like ``async_``
    bare: Rate | None = None  # ``same_shape`` tasks, windows in turn with ``own``

    @property
    def round_trip_s(self) -> float:
        """One task submitted and waited for, alone: also what a leased worker
        waits between two tasks, the figure batching sizes chunks by."""
        return 1.0 / self.sync.mean

    @property
    def per_task_s(self) -> float:
        """What each task costs the cluster when many are in flight (its throughput)."""
        return 1.0 / self.async_.mean

    @property
    def own_ratios(self) -> list[float]:
        """A bare task's rate over the caller's (same arguments), window by
        window: each pair of windows ran back to back, so a load that comes and
        goes weighs on both figures of a pair alike, and the pairs' median
        shrugs off a bad one."""
        if self.own is None or self.bare is None:
            return []
        return [b / o for b, o in zip(self.bare.windows, self.own.windows, strict=True)]


def measure(
    window_s: float, windows: int = 6, own_batch: Callable[[int], object] | None = None
) -> TaskOverhead:
    """Ray's sync and async task rates; with ``own_batch`` (submit and wait for
    that many of the caller's tasks, each taking two small ints), the caller's
    rate and a bare task's of the same shape too, the windows of all three
    taken in turn."""
    (sync,) = rates([sync_task], 1, window_s, windows)
    if own_batch is None:
        (async_,) = rates([async_tasks], ASYNC_BATCH, window_s, windows)
        return TaskOverhead(sync, async_)
    async_, bare, own = rates(
        [async_tasks, same_shape_tasks, lambda: own_batch(ASYNC_BATCH)],
        ASYNC_BATCH,
        window_s,
        windows,
    )
    return TaskOverhead(sync, async_, own, bare)
