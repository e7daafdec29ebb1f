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
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from jobs.runtime import processes
from jobs.runtime.errors import UsageError
from jobs.runtime.ports import free_port

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


def _answers(uri: str) -> bool:
    try:
        with MongoClient(uri, serverSelectionTimeoutMS=300, connectTimeoutMS=300) as client:
            client.admin.command("ping")
        return True
    except PyMongoError:
        return False


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
            # Its own session: Ctrl-C reaches us, and we stop it in order.
            proc = processes.start(command, log_path, cwd=workdir)
            try:
                processes.wait_ready(
                    proc, lambda uri=uri: _answers(uri), "nx-27017", log_path, START_TIMEOUT_S
                )
                break
            except RuntimeError:
                processes.stop(proc, STOP_TIMEOUT_S)
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
            processes.stop(proc, STOP_TIMEOUT_S)
        shutil.rmtree(workdir, ignore_errors=True)
