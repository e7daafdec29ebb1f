"""`ray101 submit` and `ray101 serve --from-manifest` against one local multi-node
cluster (`ray101 cluster up`: a head and two workers), through Ray's job API with
token auth on: every RayJob of the chart's kind rendering succeeds with the result
its workload promises, and the failure paths end the way they should.

What the local run changes in a RayJob, and why (all through `ray101 submit`'s
documented overrides, `--env` and the extra arguments after `--`):

* every job: `-- --json`, so the test reads the workload's result object;
* ray101-mongo: on Kubernetes its submitter waits for the `ray101-data-load`
  Job and the Ray pods get MONGODB_URI from the Secret; here the nx-27017
  stand-in on a loopback port, loaded by `ray101 data load` with small sizes
  (the loader Job's command), is passed as `--env MONGODB_URI=…`;
* ray101-tune: on Kubernetes it waits for the S3 bucket and writes to
  s3://ray101-tune/ray101; here every node is this machine, so a local
  directory is the shared storage (`--env RAY101_STORAGE_PATH=…`), and a
  smaller budget is appended (`-- --num-samples 2 --max-epochs 2 --samples 300`;
  the entrypoint's flags parse last-wins).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from jobs import dag, dependencies, retrieve
from jobs.client import dashboard, kuberay, localcluster
from jobs.echo.workload import CHECKS as ECHO_CHECKS
from jobs.mongo import standin as mongo_standin
from tools.chart import REPO_ROOT, load_values
from tools.manifests.render import render_chart

pytestmark = pytest.mark.slow

# All the kind rendering's RayJobs at once, on two shared cores.
SUBMIT_TIMEOUT_S = 420
TUNE_BUDGET = ["--num-samples", "2", "--max-epochs", "2", "--samples", "300"]


def kind_rendering() -> list[dict]:
    return render_chart("helm:kind", load_values("values-kind.yaml")).objects


RAYJOBS = sorted(o["metadata"]["name"] for o in kind_rendering() if o["kind"] == "RayJob")


@pytest.fixture(scope="module")
def manifest_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("manifests") / "kind.yaml"
    path.write_text(yaml.safe_dump_all(kind_rendering()))
    return path


@pytest.fixture(scope="module")
def loaded_standin(ray101_cluster):
    """The stand-in with the loader's data, as the data-load Job leaves MongoDB."""
    with mongo_standin.standin(announce=False) as uri:
        load = ray101_cluster.cli(
            "data", "load", "--uri", uri, "--movies", "2000", "--comments", "4000", "--quiet"
        )
        assert load.returncode == 0, load.stderr[-2000:]
        yield uri


def last_json(stdout: str) -> dict:
    """The workload's --json object: the last line of the job's log that parses."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    raise AssertionError(f"no JSON result in the job's log:\n{stdout[-2000:]}")


def promised(name: str, result: dict) -> None:
    """The result each workload promises (its own definition of right)."""
    assert result["ok"], result.get("error")
    if name == "ray101-retrieve":
        assert result["result"] == [[i, v] for i, v in enumerate(retrieve.make_database(6))]
    elif name == "ray101-dependencies":
        assert result["result"] == dependencies.expected_total(5)
    elif name == "ray101-dag":
        assert result["result"] == dag.expected()
    elif name == "ray101-counter":
        assert result["result"] == [0, 1, 3, 6, 10]
    elif name == "ray101-mongo":
        assert result["result"]["all_modes_equal"]
        assert all(result["details"]["modes_equal"].values())
    elif name == "ray101-tune":
        assert result["result"]  # the best trial's config and metric
    else:
        raise AssertionError(f"no promised result known for {name}")


def overrides(name: str, request, tmp_path: Path) -> tuple[list[str], list[str]]:
    """`ray101 submit` flags and the arguments appended to the entrypoint, per RayJob."""
    if name == "ray101-mongo":
        return ["--env", f"MONGODB_URI={request.getfixturevalue('loaded_standin')}"], []
    if name == "ray101-tune":
        return ["--env", f"RAY101_STORAGE_PATH={tmp_path / 'tune'}"], TUNE_BUDGET
    return [], []


RENDERING_TEST = "test_every_rayjob_of_the_kind_rendering_succeeds"


@pytest.fixture(scope="module")
def kind_submissions(ray101_cluster, manifest_file, request, tmp_path_factory):
    """Every selected RayJob of the kind rendering submitted at once, as the chart
    creates them together: the cluster runs at most its driver slots at a time
    (the rest wait, as on Kubernetes), and the module waits for the slowest
    job instead of the sum of them. name -> (exit code, stdout, stderr, seconds)."""
    names = [
        item.callspec.params["name"]
        for item in request.session.items
        if item.originalname == RENDERING_TEST and item.module is request.module
    ]
    logs = tmp_path_factory.mktemp("submissions")
    started = {}
    for name in names:
        (logs / name).mkdir()
        flags, extra = overrides(name, request, logs / name)
        out, err = (open(logs / f"{name}.{s}", "w+") for s in ("out", "err"))  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobs.cli", "submit", "--from-manifest", str(manifest_file),
             "--name", name, *flags, "--", *extra, "--json"],
            cwd=REPO_ROOT, stdout=out, stderr=err, text=True, env=ray101_cluster.env,
        )  # fmt: skip
        started[name] = (proc, out, err, time.monotonic())
    finished = {}
    try:
        for name, (proc, out, err, begin) in started.items():
            code = proc.wait(timeout=SUBMIT_TIMEOUT_S)
            took = time.monotonic() - begin
            out.seek(0), err.seek(0)
            finished[name] = (code, out.read(), err.read(), took)
    finally:
        for proc, out, err, _ in started.values():
            proc.kill()
            out.close(), err.close()
    return finished


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.mongodb) if n == "ray101-mongo" else n for n in RAYJOBS],
)
def test_every_rayjob_of_the_kind_rendering_succeeds(kind_submissions, name):
    code, stdout, stderr, took = kind_submissions[name]
    assert code == 0, stderr[-3000:]
    assert "SUCCEEDED" in stderr
    promised(name, last_json(stdout))
    print(f"{name}: {took:.1f} s through ray101 submit, submitted with the others")


def readme_manifest_examples() -> list[list[str]]:
    """The README's `ray101 submit|serve --from-manifest …` lines, as arguments."""
    found = []
    for line in (REPO_ROOT / "README.md").read_text().splitlines():
        if line.startswith("ray101 ") and "--from-manifest" in line:
            found.append(shlex.split(line, comments=True)[1:])
    return found


def assert_served(proc) -> None:
    """`serve --from-manifest` deployed the echo and every echo check answered."""
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "BAD" not in proc.stdout
    assert proc.stdout.count("  ok ") == len(ECHO_CHECKS)


def test_the_readme_shows_every_manifest_form():
    forms = {(a[0], a[2].startswith("helm/")) for a in readme_manifest_examples()}
    assert forms == {("submit", False), ("submit", True), ("serve", True)}


@pytest.mark.parametrize("args", readme_manifest_examples(), ids=" ".join)
def test_each_readme_manifest_example_works(ray101_cluster, args):
    proc = ray101_cluster.cli(*args)
    try:
        if args[0] == "serve":
            assert_served(proc)
        else:
            assert proc.returncode == 0, proc.stderr[-3000:]
            assert "SUCCEEDED" in proc.stderr
    finally:
        if args[0] == "serve":
            dashboard.request(ray101_cluster.state.dashboard_url, "/api/serve/applications/",
                              method="DELETE")  # fmt: skip


def test_an_entrypoint_that_raises_fails_with_its_error(ray101_cluster, tmp_path):
    rayjob = {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": "ray101-raises"},
        "spec": {"entrypoint": "python -c \"raise RuntimeError('broken on purpose')\""},
    }
    path = tmp_path / "rayjob.yaml"
    path.write_text(yaml.safe_dump(rayjob))
    proc = ray101_cluster.cli("submit", "--from-manifest", str(path))
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "FAILED" in proc.stderr
    assert "RuntimeError: broken on purpose" in proc.stderr


def test_a_job_without_the_token_is_refused(ray101_cluster):
    url = ray101_cluster.state.dashboard_url
    body = json.dumps({"entrypoint": "echo should-not-run"}).encode()
    req = urllib.request.Request(f"{url}/api/jobs/", data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=10)
    assert refused.value.code in (401, 403)
    wrong = ray101_cluster.cli("submit", "counter", env={"RAY_AUTH_TOKEN": "not-the-token"})
    assert wrong.returncode == 2, wrong.stderr[-2000:]
    assert "refused the token" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1


def assert_usage_error(proc, message: str) -> None:
    """A user's mistake: exit 2 and one line naming it, never a traceback."""
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch"], "unknown workload 'nosuch'"),
        (["echo"], "not a batch job"),
        (["--address", "http://127.0.0.1:9", "counter"], "cannot reach"),
        (["--from-manifest", "no/such.yaml"], "cannot read no/such.yaml"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(cli, args, message, tmp_path):
    proc = cli("submit", *args, env={"RAY101_STATE_DIR": str(tmp_path)}, timeout=60)
    assert_usage_error(proc, message)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ('{{ fail "broken on purpose" }}', "cannot render the chart"),
        ("{{ .Values.a.b.c }}", "cannot render the chart"),
    ],
)
def test_a_chart_that_cannot_render_is_one_line_and_exit_2(cli, tmp_path, template, message):
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: broken\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("{}\n")
    (chart / "templates" / "x.yaml").write_text(template + "\n")
    for verb in ("submit", "serve"):
        proc = cli(verb, "--from-manifest", str(chart), timeout=60)
        assert_usage_error(proc, message)


def test_the_chart_renders_without_a_cluster_and_draws_no_password():
    docs = kuberay.load(str(REPO_ROOT / "helm" / "ray101"))
    assert any(d["kind"] == "RayJob" for d in docs) and any(d["kind"] == "RayService" for d in docs)
    assert not [d for d in docs if d["kind"] == "Secret"], "a Secret was drawn"
    text = yaml.safe_dump_all(docs)
    assert kuberay.STAND_IN_SECRET in text


def test_stand_in_secrets_fill_only_the_empty_ones():
    defaults = {"a": {"auth": {"existingSecret": ""}}, "b": {"existingSecret": ""}, "c": 1}
    given = {"a": {"auth": {"existingSecret": "mine"}}}
    assert kuberay.stand_in_secrets(defaults, given) == {
        "b": {"existingSecret": kuberay.STAND_IN_SECRET}
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "9000", "--from-manifest", "helm/ray101"], "--port is the foreground"),
        (["--from-manifest", "helm/ray101", "--host", "0.0.0.0"], "--host is the foreground"),
        (["--name", "ray101-echo"], "--name goes with --from-manifest"),
        (["--http-port", "9000"], "--http-port goes with --from-manifest"),
        (["--from-manifest", "no/such.yaml"], "cannot read no/such.yaml"),
    ],
)
def test_serve_refuses_flags_of_the_other_mode_in_one_line(cli, args, message, tmp_path):
    proc = cli("serve", *args, env={"RAY101_STATE_DIR": str(tmp_path)}, timeout=60)
    assert_usage_error(proc, message)


@pytest.mark.parametrize("verb", ["serve", "submit"])
def test_help_shows_from_manifest(cli, verb):
    proc = cli(verb, "--help", timeout=60)
    assert proc.returncode == 0 and "--from-manifest FILE" in proc.stdout


def wait_for_job(url: str, entrypoint_part: str, timeout_s: float = 120) -> dict:
    """The RUNNING submitted job whose entrypoint contains ``entrypoint_part``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for job in dashboard.request(url, "/api/jobs/") or []:
            if entrypoint_part in job["entrypoint"] and job["status"] == "RUNNING":
                return job
        time.sleep(0.5)
    raise AssertionError(f"no RUNNING job with {entrypoint_part!r} within {timeout_s} s")


def test_ctrl_c_stops_the_submitted_job(ray101_cluster):
    url = ray101_cluster.state.dashboard_url
    # A job that cannot end on its own before Ctrl-C, however slow the machine
    # (90 s of sequential retrievals): with 7 s a loaded CI saw it SUCCEED first.
    proc = ray101_cluster.popen("submit", "retrieve", "--delay", "30", "--items", "3")
    try:
        job = wait_for_job(url, "--delay 30 --items 3")
        # What a Ctrl-C needs: the command neither ignores nor blocks SIGINT.
        status = Path(f"/proc/{proc.pid}/status").read_text()
        bit = 1 << (signal.SIGINT - 1)
        for field in ("SigIgn", "SigBlk"):
            mask = int(re.search(rf"{field}:\s*([0-9a-f]+)", status)[1], 16)
            assert not mask & bit, f"the command starts with SIGINT in {field}"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr[-2000:]
    assert f"stopped job {job['submission_id']} (STOPPED)" in stderr
    status = dashboard.request(url, f"/api/jobs/{job['submission_id']}")["status"]
    assert status == "STOPPED"


def running_task_on_a_worker(url: str, name: str, timeout_s: float = 120) -> str:
    """The node id of a worker running a task called ``name``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        query = f"limit=1000&filter_keys=name&filter_predicates=%3D&filter_values={name}"
        answer = dashboard.request(url, f"/api/v0/tasks?{query}")
        for task in answer["data"]["result"]["result"]:
            if task["state"] == "RUNNING" and task.get("node_id"):
                return task["node_id"]
        time.sleep(0.5)
    raise AssertionError(f"no {name} task RUNNING within {timeout_s} s")


def test_retrieve_survives_a_worker_raylet_killed(ray101_cluster):
    state = ray101_cluster.state
    proc = ray101_cluster.popen("submit", "retrieve", "--items", "4", "--delay", "3", "--json")
    try:
        node_id = running_task_on_a_worker(state.dashboard_url, "retrieve_task")
        raylet = localcluster.raylet_pid(state, node_id)
        assert raylet is not None, f"no raylet process for node {node_id}"
        os.kill(raylet, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    result = last_json(stdout)
    assert result["ok"], result
    assert result["result"] == [[i, v] for i, v in enumerate(retrieve.make_database(4))]
    assert node_id in [n["node_id"] for n in result["details"]["nodes_lost"]]
    # `cluster up` again restarts the worker that died.
    again = ray101_cluster.cli("cluster", "up")
    assert again.returncode == 0, again.stderr[-2000:]
    alive = [n for n in dashboard.nodes(state.dashboard_url) if n["state"] == "ALIVE"]
    assert len(alive) == 3
