"""Shared fixtures: one real local Ray per test module, with fixed resources.

Module scope keeps start-up cost to one Ray per file while letting a module
that needs its own cluster (several raylets, process-wide settings) start it
without fighting a session-wide instance.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import ExitStack, nullcontext

import pytest
import ray

from tests.servers.local_cluster import LocalCluster, cli_cluster, joined, local_cluster
from tests.servers.prometheus import Prometheus, prometheus_server
from tests.servers.redis import Redis, redis_server
from tests.support import FAST_NODE_DEATH_ENV, local_ray, run_cli

# ---------------------------------------------------------------------------
# The end of the run. Once every module has stopped its Ray and pytest has
# written its report, the process ends here with pytest's exit status, without
# the interpreter's finalisation: that runs the static destructors of the C++
# libraries this process has loaded (grpc, Arrow's AWS SDK, torch, Ray's core
# worker) while their own threads may still run, and a CI run once died there
# of SIGSEGV after every test had finished. What the suite tests does not
# depend on that phase; `ray101` itself exits normally, in the subprocesses the
# tests run (a crash there fails the test with a negative exit code).
# `make test` sets PYTHONFAULTHANDLER, so a crash before this point still
# prints every thread's stack.
_EXIT_STATUS = pytest.StashKey[int]()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _EXIT_STATUS not in config.stash or os.environ.get("RAY101_TEST_NORMAL_EXIT"):
        return  # not a whole run (pytest --help, a collection error), or asked not to
    if ray.is_initialized():  # a module that left its Ray up is a bug; stop it first
        ray.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(config.stash[_EXIT_STATUS])


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    """The module's local Ray. Tests that use it must clean up their actors."""
    if ray.is_initialized():  # a module-level cluster still up would be a bug in a test
        ray.shutdown()
    with local_ray():
        yield


@pytest.fixture(scope="session")
def mongo_server(request):
    """The tests' MongoDB: MONGODB_URI's server when it is set (tests use scratch
    databases there and drop them), else one nx-27017 stand-in for the session.

    The stand-in announces itself on the terminal, not in captured output, so
    a run against it never passes for a run against MongoDB.
    """
    from jobs.mongo import client
    from jobs.mongo.server import server

    capture = request.config.pluginmanager.getplugin("capturemanager")
    with ExitStack() as stack:
        with capture.global_and_fixture_disabled() if capture else nullcontext():
            found = stack.enter_context(server(client.resolve_uri()))
        yield found


@pytest.fixture
def cli():
    return run_cli


# ---------------------------------------------------------------------------
# Real servers on loopback ports (tests/servers): a missing binary fails the
# test that needs it, with the package to install.


@pytest.fixture(scope="module")
def redis() -> Iterator[Redis]:
    with redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def ha_cluster(redis: Redis) -> Iterator[LocalCluster]:
    """A head and one worker whose GCS keeps its state in ``redis``, joined by this process.

    The variables are the ones KubeRay sets on a RayCluster with GCS fault
    tolerance; a namespace of its own keeps this cluster's keys apart.
    """
    env = {
        "RAY_REDIS_ADDRESS": redis.address,
        "REDIS_PASSWORD": redis.password,
        "RAY_external_storage_namespace": f"ray101-test-{secrets.token_hex(4)}",
    }
    with local_cluster(workers=1, env=env) as cluster, joined(cluster):
        yield cluster


@pytest.fixture(scope="module")
def metrics_cluster() -> Iterator[LocalCluster]:
    """A head and one worker exporting metrics every second (Ray's default: 10 s)."""
    env = {"RAY_metrics_report_interval_ms": "1000"}
    with local_cluster(workers=1, env=env) as cluster, joined(cluster):
        yield cluster


@pytest.fixture(scope="module")
def prometheus(metrics_cluster: LocalCluster) -> Iterator[Prometheus]:
    with prometheus_server(metrics_cluster.session_dir) as server:
        yield server


@pytest.fixture
def report_line(capsys):
    """Print a line past output capture: the figures a run measured."""

    def write(text: str) -> None:
        with capsys.disabled():
            print(f"\n{text}")

    return write


@pytest.fixture(scope="session")
def ray101_cluster(tmp_path_factory) -> Iterator[LocalCluster]:
    """One `ray101 cluster up` (head + 2 workers) for the session, stopped even on failure."""
    state_dir = tmp_path_factory.mktemp("ray101-state")
    with cli_cluster(state_dir, workers=2, env=FAST_NODE_DEATH_ENV) as cluster:
        yield cluster
