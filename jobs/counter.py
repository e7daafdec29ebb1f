"""A stateful Counter actor: ``increment(v)`` adds ``v`` and returns the running total.

An actor runs its calls one at a time in submission order, so increments
0..4 return ``[0, 1, 3, 6, 10]`` without locks. With ``--durable`` the count
lives in MongoDB and survives the actor's process dying (see
``jobs/durable_counter.py``).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import ray

from jobs.mongo import client as mongo_client
from jobs.runtime import flags, runner
from jobs.runtime.result import JobResult, timed

NAME = "counter"
plot = None  # no figure: the result is the answer


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


def count_durable(values: list[int], uri: str, counter_id: str, ack_delay_s: float) -> list[int]:
    from jobs import durable_counter

    counter = durable_counter.start(counter_id, uri, ack_delay_s)
    try:
        return ray.get(durable_counter.increment_all(counter, values))
    finally:
        ray.kill(counter)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--values", type=flags.positive_int, default=5, help="increment by 0..N-1 (default 5)"
    )
    durable = parser.add_argument_group("durable (state in MongoDB)")
    durable.add_argument(
        "--durable",
        action="store_true",
        help="keep the count in MongoDB: restored after a restart, each call applied once",
    )
    durable.add_argument(
        "--uri", default=None, help=f"MongoDB connection string (default ${mongo_client.URI_ENV})"
    )
    durable.add_argument(
        "--standin", action="store_true", help="with no URI: use the nx-27017 stand-in"
    )
    durable.add_argument(
        "--counter-id",
        default=None,
        help="continue this counter's stored count (default: a new counter)",
    )
    durable.add_argument(
        "--ack-delay",
        type=flags.non_negative_float,
        default=0.0,
        metavar="SECONDS",
        help="wait after recording each increment before answering, to watch a crash there",
    )


def preflight(args: argparse.Namespace) -> None:
    """A durable counter's MongoDB must answer before Ray starts."""
    if not args.durable:
        return
    from jobs.mongo.server import preflight as mongo_preflight

    args.uri = mongo_preflight(
        args.uri, args.standin, "--durable needs MongoDB", "for the nx-27017 stand-in"
    )


@contextmanager
def _mongodb(args: argparse.Namespace) -> Iterator[str]:
    """The URI preflight found, else a stand-in for this run (no data loaded)."""
    from jobs.mongo.server import server

    with server(args.uri) as found:
        yield found.uri


def run(args: argparse.Namespace, ctx: runner.Context) -> JobResult:
    values = list(range(args.values))
    details = {}
    if args.durable:
        from jobs import durable_counter

        counter_id = args.counter_id or durable_counter.new_counter_id()
        with _mongodb(args) as uri:
            totals, seconds = timed(count_durable, values, uri, counter_id, args.ack_delay)
            stored = durable_counter.recorded(uri, counter_id)
        details = {"counter_id": counter_id, "recorded_increments": len(stored)}
        start = totals[0] - values[0] if totals else 0  # a continued counter's earlier count
    else:
        totals, seconds = timed(count, values)
        start = 0
    expected = [start + t for t in running_totals(values)]
    ok = totals == expected
    return JobResult(
        name=NAME,
        ok=ok,
        result=totals,
        timings={"actor_s": seconds},
        details=details,
        lines=[str(totals)],
        error=None if ok else f"expected {expected}",
    )


def main(argv=None) -> int:
    return runner.main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
