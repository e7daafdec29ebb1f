"""Joining a cluster started with `ray start` (the session's `ray101 cluster up`), by
GCS address and by Ray Client address, with Ray token auth on and nothing in the
environment saying so."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

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
