"""Every workload, in one place: the CLI, ``make demo``, the tests and the
Kubernetes manifests (one RayJob each, ``rayjob: true``) read this table.

Adding a workload is one module in ``jobs/`` and one entry here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from jobs.errors import UsageError


@dataclass(frozen=True)
class Workload:
    name: str
    module: str
    summary: str
    # Flags `ray101 run all` (make demo) passes: small budgets that still show the point.
    demo_args: tuple[str, ...] = ()
    # Runs as a batch job (a RayJob); the echo service runs as a RayService instead.
    rayjob: bool = True

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("retrieve", "jobs.retrieve", "sequential vs parallel retrieval of 6 items"),
        Workload(
            "dependencies", "jobs.dependencies", "process 5 items in parallel, then aggregate"
        ),
        Workload(
            "dag", "jobs.dag", "task1 and task2 in parallel feeding task3 (chaining and DAG API)"
        ),
        Workload("counter", "jobs.counter", "a stateful Counter actor"),
        Workload(
            "mongo",
            "jobs.mongo",
            "MongoDB aggregations: sequential, actors, warm pool, partitioned",
            demo_args=("--standin", "--movies", "2000", "--comments", "4000"),
        ),
        Workload(
            "echo",
            "jobs.echo.workload",
            "Ray Serve echo service: start, call, check, stop",
            rayjob=False,
        ),
        Workload(
            "tune",
            "jobs.tune",
            "Ray Tune + PyTorch Lightning with ASHA early stopping",
            demo_args=("--num-samples", "4", "--max-epochs", "4", "--samples", "600"),
        ),
    )
}


def get(name: str) -> Workload:
    try:
        return WORKLOADS[name]
    except KeyError:
        known = ", ".join(WORKLOADS)
        raise UsageError(f"unknown workload {name!r}; choose one of: {known}, all") from None
