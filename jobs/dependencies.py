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

from jobs.runtime import flags, runner, timeline, warmup
from jobs.runtime.connect import IO_TASK_CPUS
from jobs.runtime.result import JobResult

NAME = "dependencies"
preflight = None  # nothing to check before Ray starts


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


def run_sequential(items: int, delay: float, process=process_item) -> int:
    return sum(process(i, delay) for i in range(items))


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
    warmup.add_argument(parser)


def run(args: argparse.Namespace, ctx: runner.Context) -> JobResult:
    rounds = timeline.Rounds()
    # As in retrieve: the parallel rounds' workers start while the baseline runs.
    workers = warmup.during_baseline(
        args, args.items, IO_TASK_CPUS, args.items * args.delay, __name__
    )
    sequential, sequential_s = rounds.timed(
        "sequential", run_sequential, args.items, args.delay, rounds.wrap(process_item)
    )
    first_round = warmup.report(workers)
    p = rounds.parallel(
        run_parallel, args.items, args.delay, first_note=warmup.how_started(first_round)
    )
    total, parallel_s = p.best, p.best_s
    ok = all(t == sequential == expected_total(args.items) for t in p.values)
    return JobResult(
        name=NAME,
        ok=ok,
        result=total,
        timings=p.timings(sequential_s),
        details={
            "items": args.items,
            "delay_s": args.delay,
            "first_round": first_round,
            "timeline": rounds.to_dict(
                {"process": args.items, "aggregate": 1}, keep=["sequential", *p.labels]
            ),
        },
        lines=[
            f"Aggregated result: {total}",
            f"Runtime: {parallel_s:.2f} seconds (sequential: {sequential_s:.2f} seconds)",
            warmup.first_round_line(first_round, p.first_s),
        ],
        error=None if ok else f"expected {expected_total(args.items)}, got {total}",
    )


def plot(result: JobResult):
    d = result.details
    return timeline.plot(
        d["timeline"],
        f"dependencies: {d['items']} items × {d['delay_s']:g} s, then aggregate",
    )


def main(argv=None) -> int:
    return runner.main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
