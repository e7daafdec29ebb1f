"""A stateful Counter actor: ``increment(v)`` adds ``v`` and returns the running total.

An actor runs its calls one at a time in submission order, so increments
0..4 return ``[0, 1, 3, 6, 10]`` without locks.
"""

from __future__ import annotations

import argparse
import itertools
import sys

import ray

from jobs import flags, runner
from jobs.report import JobResult, timed

NAME = "counter"


# The actor only holds a number; it needs no CPU of its own while idle.
@ray.remote(num_cpus=0)
class Counter:
    def __init__(self) -> None:
        self.count = 0

    def increment(self, value: int) -> int:
        self.count += value
        return self.count


def running_totals(values: list[int]) -> list[int]:
    return list(itertools.accumulate(values))


def count(values: list[int]) -> list[int]:
    counter = Counter.remote()
    try:
        return ray.get([counter.increment.remote(v) for v in values])
    finally:
        ray.kill(counter)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--values", type=flags.positive_int, default=5, help="increment by 0..N-1 (default 5)"
    )


def run(args: argparse.Namespace, ctx: runner.Context) -> JobResult:
    values = list(range(args.values))
    totals, seconds = timed(count, values)
    ok = totals == running_totals(values)
    return JobResult(
        name=NAME,
        ok=ok,
        result=totals,
        timings={"actor_s": seconds},
        lines=[str(totals)],
        error=None if ok else f"expected {running_totals(values)}",
    )


def main(argv=None) -> int:
    return runner.main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
