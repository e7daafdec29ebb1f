"""A small DAG: task1 and task2 run in parallel and feed task3.

Built two ways that must agree:

* ``.remote()`` chaining: passing ObjectRefs as arguments *is* the dependency
  graph. This is the recommended form on Ray 2.60.
* the DAG API: ``.bind()`` builds the graph lazily and ``.execute()`` runs it.
  ``DAGNode.execute()`` is deprecated in Ray 2.60 (it still works); the warning
  is shown on stderr and listed in the JSON output rather than silenced.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings

import ray

from jobs.runtime import flags, runner
from jobs.runtime.result import JobResult, timed

NAME = "dag"
preflight = None  # nothing to check before Ray starts
plot = None  # no figure: the result is the answer
log = logging.getLogger(__name__)


@ray.remote(num_cpus=0.25)
def task1(delay: float = 0.0) -> str:
    time.sleep(delay)
    return "Result from task1"


@ray.remote(num_cpus=0.25)
def task2(delay: float = 0.0) -> str:
    time.sleep(delay)
    return "Result from task2"


@ray.remote(num_cpus=0.25)
def task3(result1: str, result2: str) -> str:
    return f"Task3 received: {result1} and {result2}"


def expected() -> str:
    return "Task3 received: Result from task1 and Result from task2"


def run_chained(delay: float = 0.0) -> str:
    """The recommended form: refs passed straight to the dependent task."""
    return ray.get(task3.remote(task1.remote(delay), task2.remote(delay)))


def run_dag_api(delay: float = 0.0) -> tuple[str, list[str]]:
    """The DAG API; returns the result and any deprecation warnings it raised."""
    dag = task3.bind(task1.bind(delay), task2.bind(delay))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ref = dag.execute()
    notices = sorted({str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)})
    for notice in notices:
        log.warning("%s Use .remote() chaining instead (see jobs/dag.py).", notice)
    return ray.get(ref), notices


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--delay",
        type=flags.non_negative_float,
        default=0.0,
        help="seconds task1 and task2 each wait: both at once, so each form takes about "
        "this long, not twice (default 0)",
    )


def run(args: argparse.Namespace, ctx: runner.Context) -> JobResult:
    chained, chained_s = timed(run_chained, args.delay)
    (via_dag, notices), dag_s = timed(run_dag_api, args.delay)
    ok = chained == via_dag == expected()
    return JobResult(
        name=NAME,
        ok=ok,
        result=chained,
        timings={"chained_s": chained_s, "dag_api_s": dag_s},
        details={"dag_api_result": via_dag, "deprecations": notices},
        lines=[chained, f"DAG API (.bind/.execute): {via_dag}"],
        error=None if ok else f"chained {chained!r} and DAG API {via_dag!r} disagree",
    )


def main(argv=None) -> int:
    return runner.main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
