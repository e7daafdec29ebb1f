"""The project's multi-node local Ray (``scripts/local-cluster``) for tests, and
its GCS killed and brought back the way Ray's own GCS fault-tolerance tests do
(the same gcs_server command line, started again).

Every process is found by its session folder on its command line, so only
this cluster's processes are ever signalled; the script's ``stop`` ends them
even when a test fails half-way.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import ray

from jobs.cluster import enable_token_auth_for
from tests.servers import process

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "local-cluster"
START_TIMEOUT_S = 180.0
GCS_EXIT_TIMEOUT_S = 10.0
# A test cluster holds nothing worth a graceful stop; SIGKILL soon after SIGTERM.
STOP_GRACE_S = 2
START_ATTEMPTS = 2


@dataclass(frozen=True)
class GcsCommand:
    """What started a gcs_server: enough to start the same one again."""

    argv: list[str]
    env: dict[str, str]


@dataclass
class LocalCluster:
    local_dir: Path
    gcs_port: int
    dashboard_port: int
    session_dir: Path
    restarted: list[subprocess.Popen] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def pids(self, executable: str) -> list[int]:
        """Live processes of this cluster whose program is named ``executable``."""
        marker = str(self.session_dir).encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:  # gone meanwhile
                continue
            if os.path.basename(argv[0]) == executable.encode() and any(marker in a for a in argv):
                found.append(int(entry))
        return found

    def kill_gcs(self) -> GcsCommand:
        """SIGKILL the GCS (a crash, or a head pod that dies) and wait until it is gone."""
        (pid,) = self.pids("gcs_server")
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
        env = dict(line.split("=", 1) for line in environ if "=" in line)
        os.kill(pid, signal.SIGKILL)
        for restarted in self.restarted:  # a GCS this object started is its child: reap it
            if restarted.pid == pid:
                restarted.wait(GCS_EXIT_TIMEOUT_S)
        deadline = time.monotonic() + GCS_EXIT_TIMEOUT_S
        while self.pids("gcs_server"):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"gcs_server {pid} still runs {GCS_EXIT_TIMEOUT_S:.0f} s after SIGKILL"
                )
            time.sleep(0.05)
        return GcsCommand(argv, env)

    def start_gcs(self, gcs: GcsCommand) -> int:
        """Start the GCS again on the same port with the same storage; its pid."""
        log_path = self.session_dir / "logs" / "gcs_server.restart.out"
        proc = process.start(gcs.argv, log_path, env=gcs.env)
        self.restarted.append(proc)
        return proc.pid


def _script(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )


def _state(local_dir: Path) -> dict[str, str]:
    lines = (local_dir / "cluster.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@contextmanager
def local_cluster(workers: int = 1, env: dict[str, str] | None = None) -> Iterator[LocalCluster]:
    """A head without CPUs and ``workers`` 2-CPU raylets on 127.0.0.1, own temp dir.

    ``env`` reaches ``ray start`` and so every Ray process (Ray's RAY_* knobs).
    The temp dir is short: Ray's Unix sockets live under it (108-byte limit).
    """
    local_dir = Path(tempfile.mkdtemp(prefix="r101-", dir="/tmp"))
    full_env = {**os.environ, **(env or {}), "RAY101_LOCAL_DIR": str(local_dir)}
    cluster = None
    try:
        # `ray start` gives a raylet a fixed 30 s to register with the GCS; on a
        # machine busy with other work that can run out, so once more from clean.
        for _ in range(START_ATTEMPTS):
            started = _script("start", "--workers", str(workers), env=full_env)
            if started.returncode == 0:
                break
            _script("stop", "--grace-period", str(STOP_GRACE_S), env=full_env)
        else:
            raise RuntimeError(
                f"scripts/local-cluster start failed {START_ATTEMPTS} times "
                f"({started.returncode}): {(started.stdout + started.stderr)[-2000:]}"
            )
        state = _state(local_dir)
        cluster = LocalCluster(
            local_dir=local_dir,
            gcs_port=int(state["GCS_PORT"]),
            dashboard_port=int(state["DASHBOARD_PORT_LOCAL"]),
            session_dir=Path(state["SESSION_DIR"]),
        )
        yield cluster
    finally:
        _script("stop", "--grace-period", str(STOP_GRACE_S), env=full_env)
        for proc in cluster.restarted if cluster else ():
            process.stop(proc)  # already ended by the script: this reaps it
        shutil.rmtree(local_dir, ignore_errors=True)


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
