"""Task dependencies: ``process`` items in parallel, then ``aggregate`` their results.

Ray resolves ObjectRefs passed *directly* as task arguments, so ``aggregate``
receives the processed values. The tutorial's ``aggregate.remote(refs)`` passes
one list that *contains* refs; Ray does not resolve refs nested inside
containers, so ``sum`` is handed ObjectRefs and fails with a TypeError.
Unpacking the refs (``aggregate.remote(*refs)``) keeps the dependency graph in
Ray: ``aggregate`` is scheduled once every ``process`` task has finished, and
the driver never fetches intermediate results.
"""

from __future__ import annotations

import argparse
import sys
import time

import ray

from jobs import flags, runner
from jobs.cluster import IO_TASK_CPUS
from jobs.report import JobResult, speedup, timed, timed_best

NAME = "dependencies"


def process_item(item: int, delay: float) -> int:
    time.sleep(delay)  # simulated work
    return item * 2


# Sleeping tasks: see IO_TASK_CPUS for why a fraction of a CPU.
@ray.remote(num_cpus=IO_TASK_CPUS)
def process(item: int, delay: float) -> int:
    return process_item(item, delay)


@ray.remote(num_cpus=IO_TASK_CPUS)
def aggregate(*results: int) -> int:
    return sum(results)


def run_sequential(items: int, delay: float) -> int:
    return sum(process_item(i, delay) for i in range(items))


def run_parallel(items: int, delay: float) -> int:
    refs = [process.remote(i, delay) for i in range(items)]
    return ray.get(aggregate.remote(*refs))


def expected_total(items: int) -> int:
    return items * (items - 1)  # sum of 2*i for i < items


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--items", type=flags.positive_int, default=5, help="items to process (default 5)"
    )
    parser.add_argument(
        "--delay", type=flags.positive_float, default=1.0, help="seconds per item (default 1.0)"
    )


def run(args: argparse.Namespace, ctx: runner.Context) -> JobResult:
    sequential, sequential_s = timed(run_sequential, args.items, args.delay)
    # As in retrieve: the first round also starts worker processes.
    cold, cold_s = timed(run_parallel, args.items, args.delay)
    warm, parallel_s = timed_best(run_parallel, args.items, args.delay)
    total = warm[-1]
    ok = all(t == sequential == expected_total(args.items) for t in (cold, *warm))
    return JobResult(
        name=NAME,
        ok=ok,
        result=total,
        timings={
            "sequential_s": sequential_s,
            "cold_parallel_s": cold_s,
            "parallel_s": parallel_s,
            "speedup": speedup(sequential_s, parallel_s),
        },
        details={"items": args.items, "delay_s": args.delay},
        lines=[
            f"Aggregated result: {total}",
            f"Runtime: {parallel_s:.2f} seconds (sequential: {sequential_s:.2f} seconds)",
        ],
        error=None if ok else f"expected {expected_total(args.items)}, got {total}",
    )


def main(argv=None) -> int:
    return runner.main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
