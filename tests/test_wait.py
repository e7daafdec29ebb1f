"""`ray101 wait data|bucket` and `ray101 bucket create`: what the RayJob submitter
pods and the bucket Job run (tests/deploy/test_manifests.py runs them as rendered,
against the MongoDB stand-in and a stub S3 endpoint)."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from jobs.command import EXIT_TERMINATED
from tests.conftest import REPO_ROOT


def ray101(*args: str, env: dict[str, str] | None = None, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "jobs.cli", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("wait", "data"), "the following arguments are required: --db"),
        (("wait", "data", "--db", "x", "--interval", "0"), "--interval"),
        (("wait", "bucket"), "the following arguments are required: bucket"),
        (("bucket", "create"), "the following arguments are required: bucket"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, message):
    result = ray101(*args, env={"MONGODB_URI": "mongodb://127.0.0.1:9/"})
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_wait_data_without_a_uri_is_a_usage_error():
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    result = subprocess.run(
        [sys.executable, "-m", "jobs.cli", "wait", "data", "--db", "x"],
        cwd=REPO_ROOT,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: set MONGODB_URI to the MongoDB to wait for"


class _S3(http.server.BaseHTTPRequestHandler):
    """HeadBucket answers 404 until a CreateBucket (PUT /bucket) arrives."""

    created: set[str] = set()

    def do_HEAD(self):  # noqa: N802 - the name http.server calls
        self.send_response(200 if self.path.strip("/") in self.created else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_PUT(self):  # noqa: N802
        self.created.add(self.path.strip("/").split("?")[0])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def s3():
    _S3.created = set()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _S3)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_port}",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    server.shutdown()
    server.server_close()


def test_bucket_create_then_wait_bucket_returns(s3):
    created = ray101("bucket", "create", "ray101-tune", env=s3)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "the bucket ray101-tune is there"
    assert _S3.created == {"ray101-tune"}
    waited = ray101("wait", "bucket", "ray101-tune", "--interval", "0.1", env=s3)
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout.strip() == "the bucket ray101-tune is there"


def test_sigterm_stops_the_wait_with_one_line(s3):
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "wait", "bucket", "missing", "--interval", "0.2"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **s3},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        first = proc.stdout.readline()
        assert "waiting for the bucket missing: not created yet" in first
        assert time.monotonic() < deadline
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == EXIT_TERMINATED
    assert err.strip().splitlines() == ["terminated (SIGTERM): stopped"]
