"""A real SeaweedFS (``weed server -filer -s3``) on free loopback ports, the
Tune store the chart deploys, with the same S3 and IAM settings.

The binary is built from SeaweedFS's Go module by scripts/build-seaweedfs into
a cache keyed by versions.env SEAWEEDFS_VERSION; a missing binary fails the
test with that command (never a skip). The admin identity comes from
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the server's environment, as in the
chart's pod, so its keys are not on the command line.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobs.runtime.ports import free_port
from tests.servers import process
from tools.chart import REPO_ROOT, versions

BUILD_SCRIPT = "scripts/build-seaweedfs"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 2.0
# The settings the chart's store runs with too (templates/seaweedfs/_seaweedfs.tpl):
# IAM writes on the S3 port for the bucket Job, no self-service key minting,
# no telemetry, no Iceberg/Lance listeners.
S3_FLAGS = [
    "-s3.iam.readOnly=false",
    "-s3.iam.selfServiceRequiresGrant=true",
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
    "-master.telemetry=false",
]


def binary_path() -> Path:
    """Where scripts/build-seaweedfs puts ``weed`` for versions.env's version."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ray101" / f"seaweedfs-{versions()['SEAWEEDFS_VERSION']}" / "weed"


def require_weed() -> Path:
    path = binary_path()
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"SeaweedFS's weed is not built ({path}): run {BUILD_SCRIPT} (.ci/run runs it)",
            pytrace=False,
        )
    return path


@dataclass(frozen=True)
class SeaweedFS:
    endpoint: str
    access_key: str
    secret_key: str
    pid: int

    @property
    def env(self) -> dict[str, str]:
        """What a client signing as the admin identity needs (pyarrow, the bucket Job)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_EC2_METADATA_DISABLED": "true",
        }


def _answers(endpoint: str) -> bool:
    """The S3 gateway is up: /healthz, the chart's probe, answers 200."""
    try:
        with urllib.request.urlopen(endpoint + "/healthz", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def weed_version() -> str:
    """``weed version``'s number, e.g. "4.53"."""
    out = subprocess.run(
        [str(require_weed()), "version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    words = out.split()
    return next(w for w in words if w[:1].isdigit() and "." in w)


@contextmanager
def seaweedfs_server(admin: tuple[str, str] | None = None) -> Iterator[SeaweedFS]:
    """Master, volume, filer and S3 gateway in one process, data in a temp dir;
    stopped by pid. ``admin``: the admin identity's keys (random by default)."""
    weed = require_weed()
    workdir = Path(tempfile.mkdtemp(prefix="ray101-seaweedfs-"))
    # Every listener on a free port (gRPC's default, port + 10000, may be taken).
    ports = {
        f"{server}.port{grpc}": free_port()
        for server in ("master", "volume", "filer", "s3")
        for grpc in ("", ".grpc")
    }
    access_key, secret_key = admin or (f"admin{secrets.token_hex(4)}", secrets.token_urlsafe(24))
    command = [
        str(weed),
        "server",
        f"-dir={workdir / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-filer",
        "-s3",
        *(f"-{flag}={port}" for flag, port in ports.items()),
        # Small volumes: a bucket is a collection and gets volumes of its own.
        "-master.volumeSizeLimitMB=32",
        "-volume.max=32",
        *S3_FLAGS,
    ]
    (workdir / "data").mkdir()
    log_path = workdir / "weed.log"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key}
    proc = process.start(command, log_path, cwd=workdir, env=env)
    try:
        endpoint = f"http://127.0.0.1:{ports['s3.port']}"
        try:
            process.wait_ready(
                proc,
                lambda: _answers(endpoint),
                f"weed server (built by {BUILD_SCRIPT})",
                log_path,
                START_TIMEOUT_S,
            )
        except RuntimeError as exc:  # the log's tail is a Go stack; name the fatal line too
            fatal = [line for line in log_path.read_text().splitlines() if line[:1] == "F"]
            raise RuntimeError(f"{fatal[-1] if fatal else 'no fatal line'}; {exc}") from None
        yield SeaweedFS(endpoint, access_key, secret_key, proc.pid)
    finally:
        # weed takes 10 s and more to stop on SIGTERM; its data is thrown away.
        process.stop(proc, timeout_s=STOP_TIMEOUT_S)
        shutil.rmtree(workdir, ignore_errors=True)


__all__ = ["REPO_ROOT", "SeaweedFS", "binary_path", "seaweedfs_server", "weed_version"]
