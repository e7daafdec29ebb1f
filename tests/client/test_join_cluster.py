"""Joining a cluster started with `ray start` (the session's `ray101 cluster up`), by
GCS address and by Ray Client address, with Ray token auth on and nothing in the
environment saying so; work spreads over its worker nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import ray

from tests.servers.local_cluster import joined
from tests.support import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("scheme", ["gcs", "client"])
def test_workload_joins_running_cluster(ray101_cluster, scheme):
    state = ray101_cluster.state
    address = state.gcs_address if scheme == "gcs" else state.client_address
    # The whole environment, less RAY_AUTH_MODE: ray101 turns token auth on itself.
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}
    proc = subprocess.run(
        [sys.executable, "-m", "jobs.cli", "run", "counter", "--json", "--address", address],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["result"] == [0, 1, 3, 6, 10]


@ray.remote(num_cpus=0.25)
def node_of_a_task(delay_s: float) -> str:
    time.sleep(delay_s)
    return ray.get_runtime_context().get_node_id()


def test_tasks_use_both_worker_nodes(ray101_cluster):
    """16 quarter-CPU tasks need more than one 2-CPU worker at once (the head has
    no CPUs, as on Kubernetes)."""
    with joined(ray101_cluster):
        nodes = set(ray.get([node_of_a_task.remote(0.5) for _ in range(16)], timeout=120))
    assert len(nodes) == 2
