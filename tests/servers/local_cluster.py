"""The tests' multi-node local Ray: ``jobs.client.localcluster`` (what ``ray101 cluster
up`` starts), each cluster with a state dir of its own so a session's and a
module's run side by side, and its GCS killed and brought back the way Ray's own
GCS fault-tolerance tests do (the same gcs_server command line, started again).

Every process is found through the cluster's temp dir on its command line, so
only this cluster's processes are ever signalled, and each cluster is stopped
even when a test fails half-way, with nothing of it left running.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import ray

from jobs.client import localcluster
from jobs.runtime import processes
from jobs.runtime.connect import enable_token_auth_for

REPO_ROOT = Path(__file__).resolve().parents[2]
GCS_EXIT_TIMEOUT_S = 10.0
# A test cluster holds nothing worth a graceful stop; SIGKILL soon after SIGTERM.
STOP_GRACE_S = 2.0


@dataclass(frozen=True)
class GcsCommand:
    """What started a gcs_server: enough to start the same one again."""

    argv: list[str]
    env: dict[str, str]


# Sets SIGINT and SIGTERM to their default and unblocks them, then execs Python
# with the rest of argv: dispositions and the mask pass through exec, so the
# command starts as from a terminal (no preexec_fn: this process runs threads).
_WITH_DEFAULT_SIGNALS = (
    "import os, signal, sys\n"
    "for s in (signal.SIGINT, signal.SIGTERM):\n"
    "    signal.signal(s, signal.SIG_DFL)\n"
    "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])\n"
)


@dataclass
class LocalCluster:
    state_dir: Path
    restarted: list[subprocess.Popen] = field(default_factory=list)

    @property
    def state(self) -> localcluster.State:
        state = localcluster.State.load(self.state_dir)
        assert state is not None, f"no cluster state in {self.state_dir}"
        return state

    @property
    def address(self) -> str:
        return self.state.address

    @property
    def dashboard_url(self) -> str:
        return self.state.dashboard_url

    @property
    def session_dir(self) -> Path:
        return self.state.session_dir

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "RAY101_STATE_DIR": str(self.state_dir)}

    def cli(self, *args: str, timeout: float = 300, env: dict | None = None):
        """``ray101 ARGS`` against this cluster, in a fresh process."""
        from tests.support import run_cli

        return run_cli(*args, timeout=timeout, env={**self.env, **(env or {})})

    def popen(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        """``ray101 ARGS`` in a fresh process that gets Ctrl-C and SIGTERM as a
        terminal's would: a child inherits an ignored or blocked signal across
        exec (a background job of a shell ignores SIGINT, and Python then never
        raises KeyboardInterrupt), whatever this test process's state."""
        return subprocess.Popen(
            [sys.executable, "-c", _WITH_DEFAULT_SIGNALS, "-m", "jobs.cli", *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**self.env, **(env or {})},
        )

    def kill_gcs(self) -> GcsCommand:
        """SIGKILL the GCS (a crash, or a head pod that dies) and wait until it is gone."""
        state = self.state
        (pid,) = localcluster.cluster_pids(state, "gcs_server")
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
        env = dict(line.split("=", 1) for line in environ if "=" in line)
        os.kill(pid, signal.SIGKILL)
        for restarted in self.restarted:  # a GCS this object started is its child: reap it
            if restarted.pid == pid:
                restarted.wait(GCS_EXIT_TIMEOUT_S)
        deadline = time.monotonic() + GCS_EXIT_TIMEOUT_S
        while localcluster.cluster_pids(state, "gcs_server"):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"gcs_server {pid} still runs {GCS_EXIT_TIMEOUT_S:.0f} s after SIGKILL"
                )
            time.sleep(0.05)
        return GcsCommand(argv, env)

    def start_gcs(self, gcs: GcsCommand) -> int:
        """Start the GCS again on the same port with the same storage; its pid."""
        log_path = self.session_dir / "logs" / "gcs_server.restart.out"
        proc = processes.start(gcs.argv, log_path, env=gcs.env)
        self.restarted.append(proc)
        return proc.pid


def _leftovers(state: localcluster.State | None) -> list[str]:
    """What of a stopped cluster still runs (`down` must leave nothing)."""
    if state is None:
        return []
    return [
        f"{pid}: {Path(f'/proc/{pid}/cmdline').read_bytes()[:120]!r}"
        for pid in localcluster.cluster_pids(state)
        if Path(f"/proc/{pid}").exists()
    ]


@contextmanager
def _stopped_after(cluster: LocalCluster, stop) -> Iterator[LocalCluster]:
    try:
        yield cluster
    finally:
        state = localcluster.State.load(cluster.state_dir)
        stop()
        for proc in cluster.restarted:
            processes.stop(proc)  # already ended by `down`: this reaps it
        shutil.rmtree(cluster.state_dir, ignore_errors=True)
        assert not _leftovers(state), _leftovers(state)


@contextmanager
def local_cluster(workers: int = 1, env: dict[str, str] | None = None) -> Iterator[LocalCluster]:
    """A head without CPUs and ``workers`` 2-CPU raylets on 127.0.0.1 (the kind
    values' CPU group), started in this process.

    ``env`` reaches ``ray start`` and so every Ray process (Ray's RAY_* knobs,
    the GCS's Redis as KubeRay sets it).
    """
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="ray101-state-")))
    try:
        localcluster.up(workers=workers, directory=cluster.state_dir, env=env)
    except BaseException:  # up stopped what it started
        shutil.rmtree(cluster.state_dir, ignore_errors=True)
        raise
    down = lambda: localcluster.down(cluster.state_dir, grace_s=STOP_GRACE_S)  # noqa: E731
    with _stopped_after(cluster, down):
        yield cluster


@contextmanager
def cli_cluster(
    state_dir: Path, workers: int = 2, env: dict[str, str] | None = None
) -> Iterator[LocalCluster]:
    """The same through the command a user runs: ``ray101 cluster up --workers N``,
    stopped with ``ray101 cluster down``. ``env`` reaches that ``ray101 cluster up``
    and so every Ray process it starts."""
    cluster = LocalCluster(state_dir)
    up = cluster.cli("cluster", "up", "--workers", str(workers), timeout=420, env=env)
    assert up.returncode == 0, f"ray101 cluster up failed:\n{up.stderr[-3000:]}"

    def down() -> None:
        proc = cluster.cli("cluster", "down", "--grace-period", f"{STOP_GRACE_S:.0f}")
        assert proc.returncode == 0, proc.stderr[-2000:]

    with _stopped_after(cluster, down):
        yield cluster


@contextmanager
def joined(cluster: LocalCluster) -> Iterator[None]:
    """This process as a driver of ``cluster``, with the machine's Ray token.

    Token mode stays on for the rest of the process, as after ``ray101
    --address``; the embedded Rays of later modules have it on by default.
    """
    if ray.is_initialized():  # a module's Ray left up would be a bug in that module
        ray.shutdown()
    enable_token_auth_for(cluster.address)
    ray.init(address=cluster.address, log_to_driver=False, logging_level="WARNING")
    try:
        yield
    finally:
        ray.shutdown()
