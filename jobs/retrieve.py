"""Sequential vs parallel retrieval: the tutorial's first example, measured.

Each retrieval waits ``delay`` seconds (a stand-in for a database round trip)
and returns ``(item, database[item])``. The driver runs them one after another,
then as Ray tasks; the data must come back identical and in submission order.
"""

from __future__ import annotations

import argparse
import sys
import time

import ray

from jobs import flags, runner
from jobs.cluster import IO_TASK_CPUS, alive_nodes, nodes_lost
from jobs.report import JobResult, speedup, timed, timed_best

NAME = "retrieve"


def make_database(items: int) -> list[str]:
    """The tutorial's ``["Learning", "Ray"] * 3``, stretched to any length."""
    return [("Learning", "Ray")[i % 2] for i in range(items)]


def retrieve_item(item: int, database: list[str], delay: float) -> tuple[int, str]:
    time.sleep(delay)  # simulated round trip
    return item, database[item]


# A retrieval sleeps like I/O: see IO_TASK_CPUS for why a fraction of a CPU.
@ray.remote(num_cpus=IO_TASK_CPUS)
def retrieve_task(item: int, database: list[str], delay: float) -> tuple[int, str]:
    return retrieve_item(item, database, delay)


def run_sequential(database: list[str], delay: float) -> list[tuple[int, str]]:
    return [retrieve_item(i, database, delay) for i in range(len(database))]


def run_parallel(database: list[str], delay: float) -> list[tuple[int, str]]:
    db_ref = ray.put(database)  # one copy in the object store, shared by every task
    refs = [retrieve_task.remote(i, db_ref, delay) for i in range(len(database))]
    return [tuple(pair) for pair in ray.get(refs)]  # ray.get keeps submission order


def format_runtime(label: str, seconds: float, data: list[tuple[int, str]]) -> list[str]:
    return [f"{label} runtime: {seconds:.2f} seconds; data:", *(str(d) for d in data)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--items", type=flags.positive_int, default=6, help="items to retrieve (default 6)"
    )
    parser.add_argument(
        "--delay",
        type=flags.positive_float,
        default=1.0,
        help="seconds per retrieval (default 1.0)",
    )


def run(args: argparse.Namespace, ctx: runner.Context) -> JobResult:
    database = make_database(args.items)
    # Ray retries the tasks of a node that dies; the report names the nodes lost.
    nodes_before = alive_nodes()
    sequential, sequential_s = timed(run_sequential, database, args.delay)
    # The first round also starts the worker processes; the fastest of the
    # warm rounds shows the steady state a long-running cluster has.
    cold, cold_s = timed(run_parallel, database, args.delay)
    warm, parallel_s = timed_best(run_parallel, database, args.delay)
    parallel = warm[-1]
    ok = all(data == sequential for data in (cold, *warm))
    lines = [
        *format_runtime("Sequential", sequential_s, sequential),
        f"Parallel runtime, first round (starts the workers): {cold_s:.2f} seconds",
        *format_runtime("Parallel", parallel_s, parallel),
        f"Speedup: {speedup(sequential_s, parallel_s):.1f}x",
    ]
    lost = nodes_lost(nodes_before)
    if lost:
        lines.append(f"Nodes lost while it ran (their tasks were retried): {lost}")
    return JobResult(
        name=NAME,
        ok=ok,
        result=[list(pair) for pair in parallel],
        timings={
            "sequential_s": sequential_s,
            "cold_parallel_s": cold_s,
            "parallel_s": parallel_s,
            "speedup": speedup(sequential_s, parallel_s),
        },
        details={
            "items": args.items,
            "delay_s": args.delay,
            "task_num_cpus": IO_TASK_CPUS,
            "nodes_lost": lost,
        },
        lines=lines,
        error=None if ok else "parallel data differs from sequential data",
    )


def main(argv=None) -> int:
    return runner.main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
