"""What the tests share besides fixtures: the checkout, the pinned versions,
``ray101`` in a fresh process and an embedded Ray. Test modules import these
from here, never from ``tests.conftest`` or from each other."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ray

from jobs.runtime.command import EXIT_TERMINATED
from tools.chart import read_env

REPO_ROOT = Path(__file__).resolve().parent.parent
VERSIONS = read_env(REPO_ROOT / "versions.env")


# Fixed so results do not depend on the machine: 4 logical CPUs on 2 cores is
# enough for the sleep-bound workloads and small Tune runs.
TEST_NUM_CPUS = 4


# The GCS declares a node dead after this many failed health checks, one a
# second (Ray's defaults: 5, every 3 s). The node-loss tests kill a raylet and
# wait for Ray to retry its tasks elsewhere; the retry itself is Ray's, only
# the wait for the verdict is shorter. A live raylet answers each check within
# Ray's 10 s timeout even on a loaded machine, so no live node is declared dead.
FAST_NODE_DEATH = {"health_check_period_ms": 1000, "health_check_failure_threshold": 3}
FAST_NODE_DEATH_ENV = {f"RAY_{key}": str(value) for key, value in FAST_NODE_DEATH.items()}


@contextmanager
def local_ray(num_cpus: int = TEST_NUM_CPUS, **kwargs) -> Iterator[None]:
    """A fresh embedded Ray (never one a developer left running with `ray start`)."""
    ray.init(
        address="local",
        num_cpus=num_cpus,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="WARNING",
        **kwargs,
    )
    try:
        yield
    finally:
        ray.shutdown()


def per_worker(name: str) -> str:
    """``name`` for this pytest-xdist worker (``name_gw0``), or as it is in one
    process: two workers share MONGODB_URI's server, never a scratch database."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"{name}_{worker}" if worker else name


def run_cli(
    *args: str, timeout: float = 300, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run ``ray101 …`` in a fresh process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "jobs.cli", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


# What a driver prints last when SIGTERM stopped it (jobs.runtime.command).
TERMINATED_LINE = "terminated (SIGTERM): stopped"


def assert_terminated_cleanly(
    returncode: int, seconds: float, stderr: str, within_s: float
) -> None:
    """A driver that got SIGTERM (`ray job stop`, a pod's deletion) ended with 143
    within ``within_s`` seconds and one line, without a traceback."""
    assert returncode == EXIT_TERMINATED, stderr[-3000:]
    assert seconds < within_s, f"took {seconds:.1f} s to stop after SIGTERM"
    assert "Traceback" not in stderr, stderr[-3000:]
    assert stderr.strip().splitlines()[-1] == TERMINATED_LINE, stderr[-3000:]
    assert stderr.count(TERMINATED_LINE) == 1, stderr[-3000:]
