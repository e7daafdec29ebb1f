"""The two kinds of item the sweep times: a CPU-bound busy loop and an I/O-like sleep.

Both return a value that depends on the item, so every strategy's answers can
be checked against the sequential run. The busy loop does a fixed number of
iterations calibrated to the duration in this process: under contention it
takes longer, as real CPU work would (a loop that spins until a deadline would
hide contention and overstate the parallel speedup).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import ray

from jobs.runtime.connect import IO_TASK_CPUS

# Seconds one calibration pass should take: long enough for the clock, short enough to repeat.
CALIBRATION_PASS_S = 0.02


def spin(iterations: int, seed: int) -> int:
    """A busy loop: ``iterations`` steps of a linear congruential generator from ``seed``."""
    x = seed
    for _ in range(iterations):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


def spin_rate(passes: int = 5) -> float:
    """Busy-loop iterations per second on this process, from the fastest of ``passes``."""
    iterations = 10_000
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        spin(iterations, 0)
        seconds = time.perf_counter() - start
        best = min(best, seconds / iterations)
        iterations = max(1, round(CALIBRATION_PASS_S / best))
    return 1.0 / best


def cpu_item(iterations: int, item: int) -> int:
    return spin(iterations, item)


def io_item(seconds: float, item: int) -> int:
    if seconds > 0:
        time.sleep(seconds)  # a stand-in for a network or disk wait
    return item


@ray.remote(num_cpus=1)
def cpu_item_task(iterations: int, item: int) -> int:
    return cpu_item(iterations, item)


@ray.remote(num_cpus=1)
def cpu_chunk_task(iterations: int, start: int, stop: int) -> list[int]:
    return [cpu_item(iterations, i) for i in range(start, stop)]


# Sleeping tasks: see IO_TASK_CPUS for why a fraction of a CPU.
@ray.remote(num_cpus=IO_TASK_CPUS)
def io_item_task(seconds: float, item: int) -> int:
    return io_item(seconds, item)


@ray.remote(num_cpus=IO_TASK_CPUS)
def io_chunk_task(seconds: float, start: int, stop: int) -> list[int]:
    return [io_item(seconds, i) for i in range(start, stop)]


@ray.remote
def hold_worker(seconds: float) -> int:
    """Keep a worker busy for ``seconds``; say which process it was."""
    time.sleep(seconds)
    return os.getpid()


@dataclass(frozen=True)
class Kind:
    """One kind of item: how to run it here, as one task each, and as a chunk."""

    name: str
    label: str
    task_cpus: float
    item: Any  # (param, item) -> int, run in this process
    item_task: Any  # ray.remote of ``item``
    chunk_task: Any  # ray.remote: (param, start, stop) -> list[int]
    busy: bool  # the param is loop iterations (True) or seconds of sleep (False)

    def param(self, duration_s: float, iterations_per_s: float) -> float | int:
        """What the item function takes for a task of ``duration_s``."""
        return round(duration_s * iterations_per_s) if self.busy else duration_s

    def slots(self, cluster_cpus: float) -> int:
        """How many of these tasks the cluster runs at once."""
        return max(1, int(cluster_cpus // self.task_cpus))


CPU = Kind("cpu", "CPU-bound (busy loop)", 1, cpu_item, cpu_item_task, cpu_chunk_task, True)
IO = Kind("io", "I/O-like (sleep)", IO_TASK_CPUS, io_item, io_item_task, io_chunk_task, False)
KINDS = (CPU, IO)
