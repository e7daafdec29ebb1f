"""Shared fixtures: one real local Ray per test module, with fixed resources.

Module scope keeps start-up cost to one Ray per file while letting a module
that needs its own cluster (several raylets, process-wide settings) start it
without fighting a session-wide instance.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import ray

REPO_ROOT = Path(__file__).resolve().parent.parent

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


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    """The module's local Ray. Tests that use it must clean up their actors."""
    if ray.is_initialized():  # a module-level cluster still up would be a bug in a test
        ray.shutdown()
    with local_ray():
        yield


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


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def local_cluster(tmp_path_factory):
    """One `ray101 cluster up` (head + 2 workers) for the session, stopped even on failure."""
    from tests.cluster_fixture import session_cluster

    with session_cluster(tmp_path_factory.mktemp("ray101-state")) as cluster:
        yield cluster
