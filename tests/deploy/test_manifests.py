"""The KubeRay objects the chart and the overlays render, checked without a cluster:
the RayJobs and their waits, the Ray clusters, images, references between objects.
"""

from __future__ import annotations

import copy
import http.server
import os
import subprocess
import threading

import pytest
import yaml

from tests.deploy.helpers import SOURCES, _mutated, _obj, _render, _report
from tools import chart
from tools.chart import REPO_ROOT
from tools.manifests import checks, render
from tools.manifests.checks.lookups import split_timeout
from tools.manifests.model import Rendered


@pytest.mark.parametrize("source", SOURCES)
def test_cluster_only_checks_pass(source, rendered, ctx):
    problems = checks.check_rendering(rendered[source], ctx)
    assert not problems, _report(problems)


def test_entrypoints_commands_and_serve_application_import(rendered):
    """What the pods run: `python -m jobs.<module>` with its flags, `ray101 data
    load`, and serveConfigV2's jobs.echo:app, imported by the project's Python."""
    problems = list(checks.check_imports(list(rendered.values())))
    assert not problems, _report(problems)


def test_one_rayjob_per_registry_workload(rendered, ctx):
    for source in SOURCES:
        jobs = {
            o["metadata"]["name"]: o["spec"]["entrypoint"]
            for o in rendered[source].of_kind("RayJob")
        }
        assert set(jobs) == {f"ray101-{w}" for w in ctx.rayjob_modules}, source
        for workload, module in ctx.rayjob_modules.items():
            assert jobs[f"ray101-{workload}"].split()[3:6] == ["python", "-m", module], source


def test_the_gpu_path_runs_tune_trials_on_gpus(rendered, ctx):
    for source in ("helm:gpu", "kustomize:gpu"):
        entrypoint = _obj(rendered[source], "RayJob", "ray101-tune")["spec"]["entrypoint"]
        assert entrypoint.endswith("--gpus-per-trial 1"), source
    assert (
        "--gpus-per-trial"
        not in _obj(rendered["helm:kind"], "RayJob", "ray101-tune")["spec"]["entrypoint"]
    )

    def cpu_only(job):
        job["spec"]["entrypoint"] = job["spec"]["entrypoint"].replace(" --gpus-per-trial 1", "")

    broken = _mutated(rendered["kustomize:gpu"], "RayJob", "ray101-tune", cpu_only)
    problems = list(checks.check_tune_uses_the_gpus(broken, ctx, checks.EXPECT["kustomize:gpu"]))
    assert [(p.name, p.field) for p in problems] == [("ray101-tune", "spec.entrypoint")]
    runtime = render.render_chart(
        "h",
        {
            "ray": {
                "gpuWorkers": {
                    "runtimeClassName": "nvidia",
                    "nodeSelector": {"nvidia.com/gpu.present": "true"},
                }
            }
        },
    )
    gpu = _obj(runtime, "RayCluster", "ray101")["spec"]["workerGroupSpecs"][1]["template"]["spec"]
    assert gpu["runtimeClassName"] == "nvidia" and gpu["nodeSelector"] == {
        "nvidia.com/gpu.present": "true"
    }


def test_tune_job_uses_seaweedfs_as_shared_storage(rendered):
    for source in SOURCES:
        tune = _obj(rendered[source], "RayJob", "ray101-tune")
        env = yaml.safe_load(tune["spec"]["runtimeEnvYAML"])["env_vars"]
        assert env["RAY101_STORAGE_PATH"].startswith("s3://ray101-tune/"), source
        assert env["AWS_ENDPOINT_URL"] == "http://ray101-seaweedfs:8333", source


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


def _run(command: list[str], env: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """(exit code, or None when still waiting at the timeout; what it printed)."""
    try:
        proc = subprocess.run(
            command,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO_ROOT,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        return None, out.decode() if isinstance(out, bytes) else out
    return proc.returncode, proc.stdout + proc.stderr


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
            code, out = _run(command, env, 6)
            assert code is None, out
            assert "waiting for the sample data: comments.movie_id, movies.year\n" in out
            load_collection(client["wait_test"], "movies", dataset.movies, progress=False)
            code, out = _run(command, env, 6)
            assert code is None, out
            assert "waiting for the sample data: comments.movie_id\n" in out
            load(client["wait_test"], dataset, progress=False)
            code, out = _run(command, env, 60)
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
        code, out = _run(command, env, 60)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0, out
    assert "waiting for the bucket ray101-tune: not created yet" in out
    assert heads == ["/ray101-tune", "/ray101-tune"]


def test_mongo_job_waits_only_for_a_loader_the_chart_runs(ctx):
    r = _render({"mongodb": {"dataLoad": {"enabled": False}}})
    pod = _obj(r, "RayJob", "ray101-mongo")["spec"]["submitterPodTemplate"]
    assert "initContainers" not in pod["spec"]
    assert "ray101/mongodb-client" not in pod["metadata"]["labels"]
    assert not list(checks.check_mongodb(r, ctx, checks.Expect(gpu="scale-from-zero")))


def test_rayjob_fields_kuberay_refuses_together_are_reported(rendered, ctx):
    def sidecar(job):
        job["spec"].update(submissionMode="SidecarMode", shutdownAfterJobFinishes=True)

    broken = _mutated(rendered["helm:default"], "RayJob", "ray101-dag", sidecar)
    problems = list(checks.check_rayjobs(broken, ctx, checks.EXPECT["helm:default"]))
    assert [(p.name, p.field) for p in problems] == [
        ("ray101-dag", "spec.shutdownAfterJobFinishes"),
        ("ray101-dag", "spec.submissionMode"),
        ("ray101-dag", "spec.submitterPodTemplate"),
    ]


def test_a_rayjob_whose_driver_outlives_its_deadline_is_reported(rendered, ctx):
    run = chart.load_values("values.yaml")["jobs"]["workloads"]["tune"]["activeDeadlineSeconds"]
    for source in ("helm:kind", "kustomize:kind"):
        job = _obj(rendered[source], "RayJob", "ray101-tune")["spec"]
        assert job["entrypoint"].startswith(f"timeout --kill-after=30 {run} python -m ")
        # The RayJob's own deadline is the backstop above the run (check_rayjob_deadlines).
        assert job["activeDeadlineSeconds"] > run

    def untimed(job):
        job["spec"]["entrypoint"] = job["spec"]["entrypoint"].split(" ", 3)[3]

    def late(job):
        job["spec"]["entrypoint"] = job["spec"]["entrypoint"].replace(
            "timeout --kill-after=30 600", "timeout 2h"
        )

    for change in (untimed, late):
        broken = _mutated(rendered["helm:default"], "RayJob", "ray101-dag", change)
        problems = list(checks.check_rayjobs(broken, ctx, checks.EXPECT["helm:default"]))
        assert [(p.name, p.field) for p in problems] == [("ray101-dag", "spec.entrypoint")], change
        assert "leaves its Ray job running" in problems[0].message


def test_missing_limit_is_reported(rendered, ctx):
    def drop_limit(cluster):
        del cluster["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0][
            "resources"
        ]["limits"]["memory"]

    broken = _mutated(rendered["helm:default"], "RayCluster", "ray101", drop_limit)
    problems = checks.check_rendering(broken, ctx)
    worker = (
        "[helm:default] RayCluster/ray101: spec.workerGroupSpecs[0].template.spec.containers[0]"
    )
    assert [str(p) for p in problems] == [
        f"{worker}.resources.limits.memory: container 'ray-worker' has no memory limit",
        # and so its requests no longer equal its limits (check_ray_qos)
        f"{worker}.resources: requests ('4', '8Gi') below limits ('4', 'None'): "
        "a Burstable Ray pod, evicted early",
    ]


def test_a_raycluster_without_recreate_upgrades_is_reported(rendered, ctx):
    for source in ("helm:kind", "kustomize:kind"):
        assert _obj(rendered[source], "RayCluster", "ray101")["spec"]["upgradeStrategy"] == {
            "type": "Recreate"
        }
    broken = _mutated(
        rendered["kustomize:kind"],
        "RayCluster",
        "ray101",
        lambda c: c["spec"].pop("upgradeStrategy"),
    )
    problems = list(checks.check_ray_clusters(broken, ctx, checks.EXPECT["kustomize:kind"]))
    assert [(p.kind, p.field) for p in problems] == [("RayCluster", "spec.upgradeStrategy.type")]


def test_a_ray_pod_without_shared_memory_is_reported(rendered, ctx):
    def no_shm(service):
        service["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]["spec"].pop(
            "volumes"
        )

    broken = _mutated(rendered["helm:kind"], "RayService", "ray101-echo", no_shm)
    problems = list(checks.check_ray_clusters(broken, ctx, checks.EXPECT["helm:kind"]))
    assert [(p.kind, p.field) for p in problems] == [
        ("RayService", "spec.rayClusterConfig.workerGroupSpecs[0].template.spec.volumes")
    ]


def test_image_and_ray_version_drift_is_reported(rendered, ctx):
    def drift(cluster):
        cluster["spec"]["rayVersion"] = "2.59.0"
        cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"] = (
            "ray101:latest"
        )

    broken = _mutated(rendered["helm:kind"], "RayCluster", "ray101", drift)
    found = {(p.field, p.message) for p in checks.check_rendering(broken, ctx)}
    assert (
        "spec.rayVersion",
        "'2.59.0' differs from the image's Ray 2.60.0 (versions.env RAY_VERSION)",
    ) in found
    image = "spec.headGroupSpec.template.spec.containers[0].image"
    assert (image, "'ray101:latest' uses :latest") in found
    assert (image, "'ray101:latest': expected tag '0.1.0' (versions.env RAY101_VERSION)") in found


def test_release_labels_in_immutable_templates_are_reported(rendered, ctx):
    def version_everywhere(obj):
        labels = {"app.kubernetes.io/version": "0.1.0"}
        if obj["kind"] == "Job":
            obj["spec"]["template"]["metadata"]["labels"].update(labels)
        else:
            obj["spec"]["volumeClaimTemplates"][0].setdefault("metadata", {})["labels"] = labels

    broken = _mutated(rendered["kustomize:kind"], "Job", "ray101-data-load", version_everywhere)
    broken = _mutated(broken, "StatefulSet", "ray101-mongodb", version_everywhere)
    problems = list(checks.check_immutable_templates(broken, ctx, checks.EXPECT["kustomize:kind"]))
    assert [(p.kind, p.field) for p in problems] == [
        ("StatefulSet", "spec.volumeClaimTemplates[0].metadata.labels.app.kubernetes.io/version"),
        ("Job", "spec.template.metadata.labels.app.kubernetes.io/version"),
    ]


def test_release_labels_in_pod_templates_are_reported(rendered, ctx):
    """A chart version in MongoDB's pod template would restart it on every upgrade."""
    for source in ("helm:default", "kustomize:kind"):
        assert not list(
            checks.check_pod_templates_without_release_labels(
                rendered[source], ctx, checks.EXPECT[source]
            )
        )

    def versioned(sts):
        sts["spec"]["template"]["metadata"]["labels"]["helm.sh/chart"] = "ray101-0.1.0"

    broken = _mutated(rendered["helm:default"], "StatefulSet", "ray101-mongodb", versioned)
    problems = list(
        checks.check_pod_templates_without_release_labels(
            broken, ctx, checks.EXPECT["helm:default"]
        )
    )
    assert [(p.kind, p.field) for p in problems] == [
        ("StatefulSet", "spec.template.metadata.labels.helm.sh/chart")
    ]


def test_service_selecting_no_pod_is_reported(rendered, ctx):
    broken = _mutated(
        rendered["helm:kind"],
        "Service",
        "ray101-seaweedfs",
        lambda s: s["spec"]["selector"].update({"app.kubernetes.io/component": "mini"}),
    )
    problems = list(checks.check_services(broken, ctx, checks.EXPECT["helm:kind"]))
    assert [(p.kind, p.name, p.field) for p in problems] == [
        ("Service", "ray101-seaweedfs", "spec.selector")
    ]


ECHO_FIXTURE = """
from ray import serve


@serve.deployment(name="Echo")
class Echo:
    async def __call__(self, request):
        return f"Received data: {request.query_params['data']}"


app = Echo.bind()
NOT_AN_APP = 42
"""


def test_import_probe_catches_wrong_import_paths_modules_and_flags(rendered, tmp_path):
    """Runs against a stand-in Serve module so it does not depend on the jobs/echo package."""
    (tmp_path / "echo_fixture.py").write_text(ECHO_FIXTURE)
    base = rendered["helm:default"]
    service = _obj(base, "RayService", "ray101-echo")
    objects = []
    for name, import_path, deployment in [
        ("good", "echo_fixture:app", "Echo"),
        ("no-attr", "echo_fixture:missing", "Echo"),
        ("no-module", "jobs.ecoh:app", "Echo"),
        ("not-app", "echo_fixture:NOT_AN_APP", "Echo"),
        ("no-deployment", "echo_fixture:app", "Echoo"),
    ]:
        obj = copy.deepcopy(service)
        obj["metadata"]["name"] = f"echo-{name}"
        obj["spec"]["serveConfigV2"] = (
            obj["spec"]["serveConfigV2"]
            .replace("jobs.echo:app", import_path)
            .replace("name: Echo", f"name: {deployment}")
        )
        objects.append(obj)
    for name, entrypoint in [
        ("typo-module", "python -m jobs.retreive"),
        ("typo-flag", "python -m jobs.dag --bogus"),
    ]:
        job = copy.deepcopy(_obj(base, "RayJob", "ray101-dag"))
        job["metadata"]["name"] = f"ray101-{name}"
        job["spec"]["entrypoint"] = entrypoint
        objects.append(job)
    problems = list(
        checks.check_imports([Rendered("t", objects, "helm")], sys_path=[str(tmp_path)])
    )
    by_name = {p.name: p for p in problems}
    assert "echo-good" not in by_name, _report(problems)
    assert set(by_name) == {
        "echo-no-attr",
        "echo-no-module",
        "echo-not-app",
        "echo-no-deployment",
        "ray101-typo-module",
        "ray101-typo-flag",
    }, _report(problems)
    import_path = "spec.serveConfigV2.applications[0].import_path"
    assert by_name["echo-no-attr"].field == import_path
    assert "has no attribute 'missing'" in by_name["echo-no-attr"].message
    assert by_name["echo-no-module"].field == import_path
    assert "No module named 'jobs.ecoh'" in by_name["echo-no-module"].message
    assert "not a Serve application" in by_name["echo-not-app"].message
    assert (
        by_name["echo-no-deployment"].field
        == "spec.serveConfigV2.applications[0].deployments[0].name"
    )
    assert by_name["ray101-typo-module"].field == "spec.entrypoint"
    assert "No module named 'jobs.retreive'" in by_name["ray101-typo-module"].message
    assert "--bogus" in by_name["ray101-typo-flag"].message


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["wait", "data", "--db", "sample_mflix", "--interval", "1"], None),
        (["bucket", "create", "ray101-tune", "--bucket-user"], None),
        (["run", "retrieve", "--items", "3"], None),
        (["wait", "data", "--dbb", "sample_mflix"], "--dbb"),
        (["wait", "nothing"], "'nothing'"),
        (["run", "retrieve", "--itemz", "3"], "--itemz"),
        (["launch"], "not a ray101 command"),
    ],
)
def test_the_import_probe_parses_jobs_cli_commands(argv, message):
    """`python -m jobs.cli …` in a pod: the command, its module and its flags."""
    from tools.manifests.probe import check_command

    result = check_command(argv)
    if message is None:
        assert result == {"ok": True}
    else:
        assert not result["ok"] and message in result["error"], result


@pytest.mark.parametrize("source", ["helm:default", "helm:kind", "helm:gpu", "kustomize:kind"])
def test_rayservice_uses_the_echo_settings_ray101_serve_measured(source, rendered):
    """The RayService serves with what `ray101 serve` ships: the same speed
    environment on every Ray container and the same per-replica options."""
    import yaml

    from jobs import echo

    r = rendered[source]
    service = next(o for o in r.objects if o["kind"] == "RayService")
    config = yaml.safe_load(service["spec"]["serveConfigV2"])
    (app,) = config["applications"]
    assert app["import_path"] == echo.IMPORT_PATH
    (deployment,) = app["deployments"]
    assert deployment["name"] == echo.DEPLOYMENT_NAME
    for key in ("max_ongoing_requests", "ray_actor_options", "logging_config"):
        assert deployment[key] == echo.DEPLOYMENT_OPTIONS[key], key
    cluster = service["spec"]["rayClusterConfig"]
    pods = [cluster["headGroupSpec"], *cluster.get("workerGroupSpecs", [])]
    for pod in pods:
        for container in pod["template"]["spec"]["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert echo.SERVE_ENV.items() <= env.items(), container["name"]
