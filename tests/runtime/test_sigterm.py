"""SIGTERM to a running driver (what `ray job stop` and a pod's deletion send): every
workload exits within seconds with exit code 143 and one line, no traceback, after
stopping what it started.

Each driver joins the session's local cluster, so "running" is seen from outside:
the cluster lists the driver's process as a RUNNING job before the signal is sent.
`ray101 serve` stops Serve, then ends like every command. Tune's case is in
tests/workloads/test_tune.py: Tune handles SIGTERM in its trials too, so the
signal comes mid-training there and the trials' end is checked as well.
"""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request

import pytest

from jobs import registry
from jobs.client import dashboard
from jobs.runtime.ports import free_port
from tests.support import assert_terminated_cleanly

pytestmark = pytest.mark.slow

# Seconds from SIGTERM to exit: loose, for a busy 2-core machine.
EXIT_WITHIN_S = 20

# Flags that keep each workload busy for well over a minute.
LONG_RUNS: dict[str, list[str]] = {
    "retrieve": ["--delay", "5"],
    "dependencies": ["--delay", "5"],
    "dag": ["--delay", "120"],
    "counter": ["--durable", "--standin", "--values", "100", "--ack-delay", "2"],
    "mongo": ["--standin"],
    "overhead": ["--durations", "1000,2000", "--budget", "60", "--rounds", "10"],
}
# The workloads whose case is elsewhere: the echo service's is below, Tune's
# in tests/workloads/test_tune.py (test_sigterm_mid_search_…).
OWN_CASES = {"echo", "tune"}


def test_every_workload_has_a_case():
    assert set(LONG_RUNS) | OWN_CASES == set(registry.WORKLOADS)
    assert not set(LONG_RUNS) & OWN_CASES


def wait_for_driver(url: str, proc: subprocess.Popen, timeout_s: float = 180) -> None:
    """Until the cluster lists ``proc`` as a RUNNING driver."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exited early ({proc.returncode}): {proc.stderr.read()}"
        answer = dashboard.request(url, "/api/v0/jobs?limit=1000")
        for job in answer["data"]["result"]["result"]:
            pid = (job.get("driver_info") or {}).get("pid")
            if pid == str(proc.pid) and job.get("status") == "RUNNING":
                return
        time.sleep(0.5)
    raise AssertionError(f"the driver (pid {proc.pid}) never showed as RUNNING")


def wait_for_http(url: str, proc: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exited early ({proc.returncode}): {proc.stderr.read()}"
        try:
            with urllib.request.urlopen(f"{url}?data=up", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} never answered")


def terminate(proc: subprocess.Popen) -> tuple[float, str]:
    """SIGTERM ``proc`` (after a second, so the workload is inside its work); seconds
    to exit and its stderr."""
    time.sleep(1.0)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = proc.communicate(timeout=EXIT_WITHIN_S * 3)
    finally:
        proc.kill()
    return time.monotonic() - sent, stderr


@pytest.mark.parametrize("name", list(LONG_RUNS))
def test_sigterm_ends_a_running_workload_with_one_line(ray101_cluster, name):
    state = ray101_cluster.state
    proc = ray101_cluster.popen("run", name, "--address", state.gcs_address, *LONG_RUNS[name])
    try:
        wait_for_driver(state.dashboard_url, proc)
    except BaseException:
        proc.kill()
        raise
    seconds, stderr = terminate(proc)
    assert_terminated_cleanly(proc.returncode, seconds, stderr, EXIT_WITHIN_S)
    print(f"{name}: exit 143 {seconds:.1f} s after SIGTERM")


def test_sigterm_ends_the_echo_service_with_one_line(ray101_cluster):
    port = free_port()
    # Joined to the session's cluster: the embedded path is test_echo_http.py's.
    address = ray101_cluster.state.gcs_address
    proc = ray101_cluster.popen("serve", "--address", address, "--port", str(port))
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", proc)
    except BaseException:
        proc.kill()
        raise
    seconds, stderr = terminate(proc)
    assert_terminated_cleanly(proc.returncode, seconds, stderr, EXIT_WITHIN_S)
    # Stopping Serve on a joined cluster used to end with serve.shutdown, which
    # can call ray.init from the stopping thread; Ray then warned about its
    # SIGTERM handler (seen once by hand, after a second SIGTERM).
    assert "not the main thread" not in stderr, stderr[-3000:]
