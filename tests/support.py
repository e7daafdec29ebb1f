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

from tools.chart import read_env

REPO_ROOT = Path(__file__).resolve().parent.parent
VERSIONS = read_env(REPO_ROOT / "versions.env")


# Fixed so results do not depend on the machine: 4 logical CPUs on 2 cores is
# enough for the sleep-bound workloads and small Tune runs.
TEST_NUM_CPUS = 4


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
