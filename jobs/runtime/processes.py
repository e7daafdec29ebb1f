"""Processes this project starts and stops: by pid, never by name.

Shared by the local cluster (``jobs.client.localcluster``), the MongoDB stand-in and
the tests' servers: start one in its own session with its output in a log,
wait until it answers, stop it (SIGTERM, then SIGKILL after a grace), and
find processes by what their command line names.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

STOP_TIMEOUT_S = 10.0


def start(command: list[str], log_path: Path, **popen) -> subprocess.Popen:
    """Run ``command`` with output to ``log_path``, in a session of its own so a
    Ctrl-C at the terminal reaches only this process, which then stops it in order."""
    with open(log_path, "ab") as out:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,
        )


def tail(path: Path, lines: int = 8) -> str:
    """The last lines of a log, on one line (for an error message)."""
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


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


def stop(proc: subprocess.Popen, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM, then SIGKILL after ``timeout_s``; always reaped."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout_s)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def command_lines() -> Iterator[tuple[int, list[bytes]]]:
    """Every other process's pid and argv (those that end meanwhile are left out)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[-1] == b"":
            argv.pop()
        if argv:
            yield int(entry.name), argv


def program(argv: list[bytes]) -> str:
    """The program's file name (``gcs_server``, ``raylet``, ``haproxy``)."""
    return os.path.basename(argv[0]).decode(errors="replace")


def end(pids: Iterable[int], grace_s: float) -> None:
    """SIGTERM ``pids``, SIGKILL those still running after ``grace_s``; reap our children."""
    pending = list(pids)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pending:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace_s
        while pending and time.monotonic() < deadline:
            reap()
            pending = [p for p in pending if alive(p)]
            if pending:
                time.sleep(0.2)
        if not pending:
            return


def reap() -> None:
    """Collect this process's ended children, so they are not left as zombies."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
