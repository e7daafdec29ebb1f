"""Joining a cluster started with `ray start`, by address, with Ray token auth on."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.ports import free_port

pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).with_name("ray"))


@pytest.fixture(scope="module")
def ray_start_cluster():
    """`ray start --head --block` in its own process group, so stopping it cannot
    touch another Ray on this machine (unlike `ray stop`)."""
    port, client_port = free_port(), free_port()
    proc = subprocess.Popen(
        [RAY, "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=false", f"--ray-client-server-port={client_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", client_port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("ray start did not come up within 60 s")
    try:
        yield port, client_port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize("scheme", ["gcs", "client"])
def test_workload_joins_running_cluster(cli, ray_start_cluster, scheme):
    port, client_port = ray_start_cluster
    address = f"127.0.0.1:{port}" if scheme == "gcs" else f"ray://127.0.0.1:{client_port}"
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}
    proc = subprocess.run(
        [sys.executable, "-m", "jobs.cli", "run", "counter", "--json", "--address", address],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["result"] == [0, 1, 3, 6, 10]
