"""Starting a server binary in its own process group and stopping it by pid."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

STOP_TIMEOUT_S = 10.0


def require(binary: str, package: str) -> str:
    """The binary's path; a missing one fails the test (never skips it)."""
    path = shutil.which(binary)
    if path is None:
        pytest.fail(
            f"{binary} is not installed: apt-get install {package} (.ci/run installs it)",
            pytrace=False,
        )
    return path


def tail(path: Path, lines: int = 8) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def start(command: list[str], log_path: Path, **popen) -> subprocess.Popen:
    """Run ``command`` with output to ``log_path``, in a session of its own so a
    Ctrl-C at the terminal reaches only pytest, which then stops it in order."""
    with open(log_path, "ab") as out:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,
        )


def wait_ready(
    proc: subprocess.Popen, ready: Callable[[], bool], what: str, log_path: Path, timeout_s: float
) -> None:
    """Poll ``ready`` until it is true; fail with the log's tail if the process
    exits or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}: {tail(log_path)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {timeout_s:.0f} s: {tail(log_path)}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after ``STOP_TIMEOUT_S``; always reaped."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)
