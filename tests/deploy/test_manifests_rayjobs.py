"""The RayJobs as rendered: one per registry workload running its module, Tune's
trials on the GPUs on the GPU path and its storage in SeaweedFS, the loader
waited for only where the chart runs it, and the fields KubeRay refuses together
and a driver that outlives its deadline reported."""

from __future__ import annotations

import yaml

from tests.deploy.helpers import SOURCES, _mutated, _obj, _render
from tools import chart
from tools.manifests import checks, render


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
