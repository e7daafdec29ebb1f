"""The local multi-node cluster the submission tests share: ``ray101 cluster up``
(a head and two 2-CPU workers, as the kind values' CPU group allows), started
once per session and stopped with ``ray101 cluster down`` even when a test fails."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from jobs import localcluster
from tests.conftest import run_cli

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2


@dataclass
class LocalCluster:
    state_dir: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "RAY101_STATE_DIR": str(self.state_dir)}

    @property
    def state(self) -> localcluster.State:
        state = localcluster.State.load()
        assert state is not None, f"no cluster state in {self.state_dir}"
        return state

    def cli(self, *args: str, timeout: float = 300, env: dict | None = None):
        """``ray101 ARGS`` against this cluster, in a fresh process."""
        return run_cli(*args, timeout=timeout, env={**self.env, **(env or {})})

    def popen(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "jobs.cli", *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**self.env, **(env or {})},
        )


def leftover_processes(temp_dir: str) -> list[str]:
    """Processes still naming the cluster's temp dir (what `down` must leave none of)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if temp_dir.encode() in cmdline:
                found.append(f"{entry.name}: {cmdline[:120]!r}")
    return found


@contextmanager
def session_cluster(state_dir: Path) -> Iterator[LocalCluster]:
    cluster = LocalCluster(state_dir)
    previous = os.environ.get("RAY101_STATE_DIR")
    os.environ["RAY101_STATE_DIR"] = str(state_dir)  # for jobs.localcluster in this process
    up = cluster.cli("cluster", "up", "--workers", str(WORKERS), timeout=420)
    try:
        assert up.returncode == 0, f"ray101 cluster up failed:\n{up.stderr[-3000:]}"
        yield cluster
    finally:
        state = localcluster.State.load()
        temp_dir = state.temp_dir if state else None
        down = cluster.cli("cluster", "down", timeout=120)
        if previous is None:
            os.environ.pop("RAY101_STATE_DIR", None)
        else:
            os.environ["RAY101_STATE_DIR"] = previous
        assert down.returncode == 0, down.stderr[-2000:]
        if temp_dir:
            assert not leftover_processes(temp_dir), leftover_processes(temp_dir)
