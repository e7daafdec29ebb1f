"""The waits of the RayJobs' submitter pods, run as rendered (the same in the chart
and the overlay): the mongo job's until the loader has filled MongoDB (the
nx-27017 stand-in), the tune job's until its bucket exists (a stub S3 endpoint)."""

from __future__ import annotations

import http.server
import os
import subprocess
import threading

from tests.deploy.helpers import _obj
from tools.chart import REPO_ROOT
from tools.manifests import checks
from tools.manifests.checks.lookups import split_timeout

# Seconds a wait may take to print what it still waits for, or to end (a
# Python start on a busy machine, and a query or two).
WAIT_TIMEOUT_S = 120


def _wait_command(rendered, job: str, name: str) -> list[str]:
    """An init container's command in the mongo or tune RayJob's submitter pod: the
    same in the chart and the overlay, run here by the project's Python (what
    the image has installed)."""
    commands = []
    for source in ("helm:kind", "kustomize:kind"):
        pod = _obj(rendered[source], "RayJob", job)["spec"]["submitterPodTemplate"]["spec"]
        found = [c for c in pod.get("initContainers") or [] if c["name"] == name]
        assert found, f"{source}: RayJob/{job} has no init container {name!r}"
        commands.append(found[0]["command"])
    assert commands[0] == commands[1], f"{job}: the chart and the overlay wait differently"
    seconds, command = split_timeout(commands[0])
    assert seconds, f"{job}: {name} waits without a bound"
    assert command[:3] == ["python", "-m", "jobs.cli"]
    return [checks.probe_python(), *command[1:], "--interval", "1"]


def _run(command: list[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    """(exit code, what it printed) of a wait that should end within ``timeout``."""
    proc = subprocess.run(
        command,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
    )
    return proc.returncode, proc.stdout + proc.stderr


def _still_waiting(command: list[str], env: dict[str, str], line: str) -> None:
    """Run a wait until it prints ``line`` (what it still waits for), then stop it.

    Bound by the line, not by a fixed window: on a busy machine the Python
    start alone once took longer than the 6 s the test gave it."""
    proc = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO_ROOT,
    )
    deadline = threading.Timer(WAIT_TIMEOUT_S, proc.kill)
    deadline.start()
    printed = []
    try:
        for printed_line in proc.stdout:
            printed.append(printed_line)
            if printed_line == line:
                return
        raise AssertionError(f"ended ({proc.wait()}) before printing {line!r}:\n{''.join(printed)}")
    finally:
        deadline.cancel()
        proc.kill()
        proc.wait()


def test_mongo_job_waits_until_the_loader_has_filled_mongodb(rendered):
    """Against the nx-27017 stand-in: nothing, then only movies, then everything loaded."""
    from jobs.mongo import client as mongo_client
    from jobs.mongo.data import generate
    from jobs.mongo.load import load, load_collection
    from jobs.mongo.standin import standin

    command = _wait_command(rendered, "ray101-mongo", "wait-for-data")
    dataset = generate(30, 60)
    with standin() as uri:
        command[command.index("sample_mflix")] = "wait_test"
        env = {"MONGODB_URI": uri}
        client = mongo_client.connect(uri)
        try:
            _still_waiting(
                command, env, "waiting for the sample data: comments.movie_id, movies.year\n"
            )
            load_collection(client["wait_test"], "movies", dataset.movies, progress=False)
            _still_waiting(command, env, "waiting for the sample data: comments.movie_id\n")
            load(client["wait_test"], dataset, progress=False)
            code, out = _run(command, env, WAIT_TIMEOUT_S)
            assert code == 0 and "the sample data is loaded" in out, out
        finally:
            client.close()


def test_tune_job_waits_until_the_bucket_exists(rendered):
    """Against a stub S3 endpoint that answers HeadBucket 404, then 200."""
    heads: list[str] = []

    class Bucket(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):  # noqa: N802 - the name http.server calls
            heads.append(self.path)
            self.send_response(404 if len(heads) == 1 else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    command = _wait_command(rendered, "ray101-tune", "wait-for-bucket")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Bucket)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_port}",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }
        code, out = _run(command, env, WAIT_TIMEOUT_S)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0, out
    assert "waiting for the bucket ray101-tune: not created yet" in out
    assert heads == ["/ray101-tune", "/ray101-tune"]
