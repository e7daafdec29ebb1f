"""The nx-27017 stand-in: a MongoDB wire-protocol server over SQLite, for
machines without MongoDB (``make demo``, the tests, a laptop).

It is not MongoDB: it runs one operation per database at a time and has
known defects (see tests/README.md), so figures measured against it say
nothing about a real server. Every use announces itself on stderr.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from jobs.errors import UsageError
from jobs.ports import free_port

log = logging.getLogger(__name__)

PACKAGE = "nx-27017"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
# The package's console script, run through this interpreter so it works
# without the venv's bin/ on PATH (and without runpy's double-import warning).
_LAUNCH = "import sys; from nx_27017.nx_27017 import main; sys.exit(main())"


def version() -> str | None:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return None


def label() -> str:
    return f"nx-27017 {version() or '?'} stand-in (SQLite, not MongoDB)"


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def _wait_ready(uri: str, proc: subprocess.Popen, log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"nx-27017 exited with code {proc.returncode}: {_tail(log_path)}")
        try:
            with MongoClient(uri, serverSelectionTimeoutMS=300, connectTimeoutMS=300) as client:
                client.admin.command("ping")
            return
        except PyMongoError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"nx-27017 did not answer within {timeout_s:.0f} s: {_tail(log_path)}"
                ) from None
            time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT_S)


@contextmanager
def standin(announce: bool = True, in_memory: bool = True) -> Iterator[str]:
    """Start nx-27017 on a free loopback port in a temporary directory; yield its URI.

    The server, its data and its log go away when the block ends.
    ``in_memory`` keeps the databases in SQLite memory (fast, nothing on disk).
    """
    if version() is None:
        raise UsageError(
            f"the MongoDB stand-in needs the {PACKAGE} package (pip install {PACKAGE})"
        )
    workdir = Path(tempfile.mkdtemp(prefix="ray101-nx27017-"))
    log_path = workdir / "server.log"
    proc: subprocess.Popen | None = None
    try:
        # A port found free can be taken before the server binds it; try a few.
        for attempt in range(3):
            port = free_port()
            uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
            data = "memory" if in_memory else str(workdir / "data")
            command = [
                sys.executable, "-c", _LAUNCH,
                "--data-dir", data,
                "--host", "127.0.0.1",
                "--port", str(port),
                "--pid-file", str(workdir / "server.pid"),
                "--log-file", str(log_path),
            ]  # fmt: skip
            with open(log_path, "ab") as out:
                proc = subprocess.Popen(
                    command,
                    cwd=workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
                )
            try:
                _wait_ready(uri, proc, log_path, START_TIMEOUT_S)
                break
            except RuntimeError:
                _stop(proc)
                if attempt == 2:
                    raise
        if announce:
            print(
                f"MongoDB: using the {label()} at {uri}; "
                "set MONGODB_URI or pass --uri for a real server",
                file=sys.stderr,
                flush=True,
            )
        log.debug("nx-27017 pid %s, log %s", proc.pid, log_path)
        yield uri
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)
