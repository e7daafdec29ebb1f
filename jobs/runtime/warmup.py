"""Start the worker processes a burst of tasks will need while the driver does other work.

Ray starts as many Python workers as the node has CPUs when it starts
(``num_prestart_python_workers`` follows ``num_cpus``), and more only when
tasks are waiting for them. Tasks that ask for a quarter of a CPU need four
workers per CPU, so the first burst of them waits for processes to start
(about a second each on a loaded 2-core machine, two at a time: the raylet's
``worker_maximum_startup_concurrency`` also follows ``num_cpus``).

:func:`start` occupies ``count`` workers, each holding until the given time,
so Ray starts the processes now; :func:`finish` waits for them and says how
many distinct processes ran. The raylet keeps idle workers above its soft
limit only about a second, so the holds end when the burst is about to start.
"""

from __future__ import annotations

import argparse
import importlib
import os
import time
from dataclasses import dataclass

import ray


@ray.remote
def _hold(until: float, module: str) -> int:
    importlib.import_module(module)  # so the burst's first task does not import it
    time.sleep(max(0.0, until - time.time()))
    return os.getpid()


@dataclass
class Warmup:
    refs: list[ray.ObjectRef]
    started: float

    def finish(self) -> dict:
        """Wait for every hold; what the run reports about the warm-up."""
        pids = ray.get(self.refs)
        return {"workers": len(set(pids)), "seconds": round(time.perf_counter() - self.started, 3)}


def start(count: int, num_cpus: float, until: float, module: str) -> Warmup:
    """Occupy ``count`` workers of ``num_cpus`` each until ``until`` (epoch seconds),
    importing ``module`` in each."""
    hold = _hold.options(num_cpus=num_cpus)
    return Warmup([hold.remote(until, module) for _ in range(count)], time.perf_counter())


def add_argument(parser: argparse.ArgumentParser) -> None:
    """``--cold`` for a workload whose first parallel round follows a sequential baseline."""
    parser.add_argument(
        "--cold",
        action="store_true",
        help="measure the first parallel round cold: start no worker processes for it "
        "while the sequential baseline runs",
    )


def during_baseline(
    args: argparse.Namespace, count: int, num_cpus: float, baseline_s: float, module: str
) -> Warmup | None:
    """Unless ``--cold``: ``count`` workers for the parallel rounds, started now and
    held until the sequential baseline (``baseline_s``) is due to end."""
    if args.cold:
        return None
    return start(count, num_cpus, time.time() + baseline_s, module)


def report(warmup: Warmup | None) -> dict:
    """Wait for the warm-up, if any; the ``first_round`` detail of the result."""
    started = warmup.finish() if warmup else {"workers": 0, "seconds": 0.0}
    return {"cold": warmup is None, "workers_started_before": started["workers"]}


def how_started(first_round: dict) -> str:
    """How the first parallel round found its workers, in words."""
    if first_round["cold"]:
        return "cold: starts the worker processes"
    return f"{first_round['workers_started_before']} workers started during the sequential run"


def first_round_line(first_round: dict, seconds: float) -> str:
    return f"Parallel runtime, first round ({how_started(first_round)}): {seconds:.2f} seconds"
