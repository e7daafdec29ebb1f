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

from jobs.runtime import flags, runner, timeline, warmup
from jobs.runtime.connect import IO_TASK_CPUS, alive_nodes, nodes_lost
from jobs.runtime.result import JobResult, speedup

NAME = "retrieve"
preflight = None  # nothing to check before Ray starts


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


def run_sequential(
    database: list[str], delay: float, retrieve=retrieve_item
) -> list[tuple[int, str]]:
    return [retrieve(i, database, delay) for i in range(len(database))]


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
    warmup.add_argument(parser)


def run(args: argparse.Namespace, ctx: runner.Context) -> JobResult:
    database = make_database(args.items)
    # Ray retries the tasks of a node that dies; the report names the nodes lost.
    nodes_before = alive_nodes()
    rounds = timeline.Rounds()
    workers = warmup.during_baseline(
        args, args.items, IO_TASK_CPUS, args.items * args.delay, __name__
    )
    sequential, sequential_s = rounds.timed(
        "sequential", run_sequential, database, args.delay, rounds.wrap(retrieve_item)
    )
    first_round = warmup.report(workers)
    p = rounds.parallel(
        run_parallel, database, args.delay, first_note=warmup.how_started(first_round)
    )
    parallel, parallel_s = p.best, p.best_s
    ok = all(data == sequential for data in p.values)
    lines = [
        *format_runtime("Sequential", sequential_s, sequential),
        warmup.first_round_line(first_round, p.first_s),
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
        timings=p.timings(sequential_s),
        details={
            "items": args.items,
            "delay_s": args.delay,
            "task_num_cpus": IO_TASK_CPUS,
            "first_round": first_round,
            "timeline": rounds.to_dict(
                {"retrieve_task": args.items}, keep=["sequential", *p.labels]
            ),
            "nodes_lost": lost,
        },
        lines=lines,
        error=None if ok else "parallel data differs from sequential data",
    )


def plot(result: JobResult):
    d = result.details
    return timeline.plot(
        d["timeline"], f"retrieve: {d['items']} items, {d['delay_s']:g} s wait each"
    )


def main(argv=None) -> int:
    return runner.main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
