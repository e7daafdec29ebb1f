"""Every workload, in one place: the CLI, ``make demo``, the tests and the
Kubernetes manifests (one RayJob each, ``rayjob: true``) read this table.

Adding a workload is one module in ``jobs/``, or a package whose entry is its
``workload`` module (it runs as ``python -m`` through the package's
``__main__.py``), and one entry here; ``make
manifests`` then writes its RayJob into the chart's values and the kustomize
base.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobs.runtime.errors import UsageError

if TYPE_CHECKING:  # the runner loads Ray's connection code; `ray101 list` needs none
    from jobs.runtime.runner import WorkloadModule

NEEDS = ("none", "mongodb", "storage")
# Tune's small budget: `make demo` and the kind cluster (a laptop) both use it.
TUNE_SMALL_ARGS = ("--num-samples", "4", "--max-epochs", "4", "--samples", "600")
TUNE_CLUSTER_ARGS = ("--num-samples", "8", "--max-epochs", "8")


@dataclass(frozen=True)
class Workload:
    name: str
    # The module with the workload's interface (jobs.runtime.runner.WorkloadModule).
    module: str
    summary: str
    # Flags `ray101 run all` (make demo) passes: small budgets that still show the point.
    demo_args: tuple[str, ...] = ()
    # Runs as a batch job (a RayJob); the echo service runs as a RayService instead.
    rayjob: bool = True
    # What the RayJob needs besides the RayCluster: "mongodb" (MONGODB_URI and
    # the loaded sample data), "storage" (a bucket every Ray node reaches) or "none".
    needs: str = "none"
    # Seconds before KubeRay marks the RayJob failed (activeDeadlineSeconds).
    deadline_s: int = 600
    # Flags of the RayJob on a full cluster, on kind (a laptop) and on a cluster
    # with GPU workers (None: the full cluster's).
    cluster_args: tuple[str, ...] = ()
    kind_args: tuple[str, ...] | None = None
    gpu_args: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.needs not in NEEDS:
            raise ValueError(f"workload {self.name!r}: needs must be one of {NEEDS}")

    def args_for(self, profile: str) -> tuple[str, ...]:
        """The RayJob's flags for "cluster", "kind" or "gpu"."""
        given = {"kind": self.kind_args, "gpu": self.gpu_args}.get(profile)
        return self.cluster_args if given is None else given

    @property
    def main_module(self) -> str:
        """What ``python -m`` runs: a package for its ``workload`` module."""
        return self.module.removesuffix(".workload")

    def load(self) -> WorkloadModule:
        """The workload's module, refused unless it provides every name the runner uses."""
        from jobs.runtime.runner import WorkloadModule

        module = importlib.import_module(self.module)
        if not isinstance(module, WorkloadModule):
            raise TypeError(f"{self.module} is not a workload module (jobs.runtime.runner)")
        return module


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
            "jobs.mongo.workload",
            "MongoDB aggregations: sequential, actors, warm pool, partitioned",
            demo_args=("--standin", "--movies", "2000", "--comments", "4000"),
            needs="mongodb",
            deadline_s=1800,
        ),
        Workload(
            "echo",
            "jobs.echo.workload",
            "Ray Serve echo service: start, call, check, stop",
            rayjob=False,
        ),
        Workload(
            "overhead",
            "jobs.overhead.workload",
            "when Ray pays off: task overhead, break-even task duration, batching",
            demo_args=(
                "--items",
                "200",
                "--budget",
                "0.1",
                "--rounds",
                "1",
                "--bench-seconds",
                "0.3",
                # each window holds at least one batch of 1000 tasks (about 1 s
                # on 2 cores): two pairs give the demo its ratio in a third of the time
                "--bench-windows",
                "2",
            ),
            rayjob=False,
        ),
        Workload(
            "tune",
            "jobs.tune.workload",
            "Ray Tune + PyTorch Lightning with ASHA early stopping",
            demo_args=TUNE_SMALL_ARGS,
            needs="storage",
            deadline_s=3600,
            cluster_args=TUNE_CLUSTER_ARGS,
            kind_args=TUNE_SMALL_ARGS,
            # One GPU per trial where the cluster has GPU workers.
            gpu_args=(*TUNE_CLUSTER_ARGS, "--gpus-per-trial", "1"),
        ),
    )
}


def get(name: str) -> Workload:
    try:
        return WORKLOADS[name]
    except KeyError:
        known = ", ".join(WORKLOADS)
        raise UsageError(f"unknown workload {name!r}; choose one of: {known}, all") from None
