"""The Kubernetes manifests and the Helm chart, checked without a cluster.

Renders the chart (default, kind and gpu values) and builds the kustomize
overlays, then validates every object against the Kubernetes 1.35 schemas and
the KubeRay 1.7.0 CRDs and runs the cluster-only checks of tools/manifests.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from tools.manifests import checkov, checks, compare, generate, render, schemas
from tools.manifests import crds as crd_dirs
from tools.manifests.model import Problem, Rendered, pod_templates
from tools.manifests.model import containers as model_containers
from tools.manifests.render import CHART_DIR, K8S_DIR, REPO_ROOT

SOURCES = [*render.CHART_VALUES, *render.OVERLAYS]


@pytest.fixture(scope="module")
def versions() -> dict[str, str]:
    return render.versions()


@pytest.fixture(scope="module")
def ctx(versions) -> checks.Context:
    return checks.load_context(versions)


@pytest.fixture(scope="module")
def rendered() -> dict[str, Rendered]:
    renderings, problems = render.render_all()
    assert not problems, "\n".join(map(str, problems))
    return {r.source: r for r in renderings}


@pytest.fixture(scope="module")
def kubernetes(versions) -> schemas.KubernetesValidator:
    return schemas.KubernetesValidator(versions["KUBERNETES_VERSION"])


@pytest.fixture(scope="module")
def crds(kubernetes) -> schemas.CrdValidator:
    return schemas.CrdValidator(crd_dirs.directories(render.versions()), kubernetes)


def _report(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


def _obj(r: Rendered, kind: str, name: str) -> dict:
    obj = r.find(kind, name)
    assert obj is not None, f"{r.source} renders no {kind}/{name}"
    return obj


def _mutated(r: Rendered, kind: str, name: str, change) -> Rendered:
    """A copy of a rendering with one object changed."""
    copied = copy.deepcopy(r)
    change(_obj(copied, kind, name))
    return copied


# ---------------------------------------------------------------- rendering and schemas


@pytest.mark.parametrize("values_file", list(render.CHART_VALUES.values()))
def test_helm_lint_is_clean(values_file, versions):
    problems = render.lint_chart(values_file, versions["KUBERNETES_VERSION"])
    assert not problems, _report(problems)


def test_kubernetes_schemas_are_the_pinned_version(kubernetes, versions):
    major_minor = ".".join(versions["KUBERNETES_VERSION"].split(".")[:2])
    assert kubernetes.version.startswith(major_minor + ".")


@pytest.mark.parametrize("source", SOURCES)
def test_every_object_matches_its_schema(source, rendered, kubernetes, crds):
    problems = schemas.validate(rendered[source], kubernetes, crds)
    assert not problems, _report(problems)


@pytest.mark.parametrize("source", SOURCES)
def test_cluster_only_checks_pass(source, rendered, ctx):
    problems = checks.check_rendering(rendered[source], ctx)
    assert not problems, _report(problems)


@pytest.mark.parametrize("flavour", ["kind", "gpu"])
def test_helm_and_kustomize_deploy_the_same_objects(flavour, rendered):
    """Object by object, spec included: what the README promises."""
    helm, kustomize = rendered[f"helm:{flavour}"], rendered[f"kustomize:{flavour}"]
    problems = list(compare.compare_helm_kustomize(helm, kustomize))
    assert not problems, _report(problems)
    assert len(compare.applied(helm)) >= 20


def test_a_difference_inside_a_spec_is_found(rendered):
    def shrink(cluster):
        cluster["spec"]["workerGroupSpecs"][0]["maxReplicas"] = 7

    kustomize = _mutated(rendered["kustomize:kind"], "RayCluster", "ray101", shrink)
    kustomize.objects = [o for o in kustomize.objects if o["metadata"]["name"] != "ray101-dag"]
    problems = list(compare.compare_helm_kustomize(rendered["helm:kind"], kustomize))
    assert [(p.kind, p.name, p.field) for p in problems] == [
        ("RayJob", "ray101-dag", ""),
        ("RayCluster", "ray101", "spec.workerGroupSpecs[0].maxReplicas"),
    ]
    assert problems[1].message == "helm:kind: 2, kustomize:kind: 7"


def test_generated_files_are_current():
    """`make manifests` would change nothing: the chart's generated values, k8s/base
    and the kind overlay's RayJob patch are what jobs/ and helm/ray101 give."""
    assert generate.differences() == []


def _tree_copy(tmp_path: Path) -> Path:
    """The parts of the repository `make manifests` reads and writes."""
    root = tmp_path / "repo"
    for part in ("jobs", "tools", "helm", "k8s"):
        shutil.copytree(
            REPO_ROOT / part, root / part, ignore=shutil.ignore_patterns("*.env", "__pycache__")
        )
    for name in ("versions.env", "names.env"):
        shutil.copy(REPO_ROOT / name, root / name)
    return root


def _in_copy(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [checks.probe_python(), *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_hand_edited_generated_file_fails_the_check(tmp_path):
    root = _tree_copy(tmp_path)
    job = root / "k8s" / "base" / "ray" / "rayjob-dag.yaml"
    job.write_text(
        job.read_text().replace("activeDeadlineSeconds: 600", "activeDeadlineSeconds: 60")
    )
    (root / "k8s" / "base" / "ray" / "extra.yaml").write_text("kind: ConfigMap\n")
    result = _in_copy(root, "-m", "tools.manifests.generate", "--check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "k8s/base/ray/rayjob-dag.yaml: differs from what `make manifests` writes" in result.stderr
    )
    assert re.search(r"^-\s+activeDeadlineSeconds: 60$", result.stderr, re.M), result.stderr
    assert "k8s/base/ray/extra.yaml: not generated any more" in result.stderr
    assert _in_copy(root, "-m", "tools.manifests.generate").returncode == 0
    assert _in_copy(root, "-m", "tools.manifests.generate", "--check").returncode == 0
    assert "activeDeadlineSeconds: 600" in job.read_text()
    assert not (root / "k8s" / "base" / "ray" / "extra.yaml").exists()


def test_a_workload_added_to_the_registry_gets_a_rayjob_on_both_paths(tmp_path):
    root = _tree_copy(tmp_path)
    registry = root / "jobs" / "registry.py"
    text = registry.read_text()
    anchor = '        Workload("counter", "jobs.counter", "a stateful Counter actor"),\n'
    assert anchor in text
    registry.write_text(
        text.replace(
            anchor,
            anchor
            + '        Workload("hello", "jobs.dag", "a new one", deadline_s=120, cluster_args=("--x",)),\n',
        )
    )
    result = _in_copy(root, "-m", "tools.manifests.generate")
    assert result.returncode == 0, result.stderr
    assert "wrote k8s/base/ray/rayjob-hello.yaml" in result.stdout
    script = (
        "import json\n"
        "from pathlib import Path\n"
        "from tools.manifests import render\n"
        "helm = render.render_chart('h', render.load_values('values-kind.yaml'))\n"
        "k8s = render.prepared_k8s_copy(Path('out'))\n"
        "kustomize = render.build_overlay('k', k8s / 'overlays' / 'kind')\n"
        "print(json.dumps([r.find('RayJob', 'ray101-hello') for r in (helm, kustomize)]))\n"
    )
    result = _in_copy(root, "-c", script)
    assert result.returncode == 0, result.stderr
    helm_job, kustomize_job = json.loads(result.stdout)
    assert helm_job and kustomize_job
    for job in (helm_job, kustomize_job):
        assert job["spec"]["entrypoint"] == "python -m jobs.dag --x"
        assert job["spec"]["activeDeadlineSeconds"] == 120


def test_chart_repeats_versions_env_exactly(versions):
    problems = list(checks.check_chart_versions(CHART_DIR, versions))
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
            assert jobs[f"ray101-{workload}"].split()[:3] == ["python", "-m", module], source


def test_tune_job_uses_minio_as_shared_storage(rendered):
    for source in SOURCES:
        tune = _obj(rendered[source], "RayJob", "ray101-tune")
        env = yaml.safe_load(tune["spec"]["runtimeEnvYAML"])["env_vars"]
        assert env["RAY101_STORAGE_PATH"].startswith("s3://ray101-tune/"), source
        assert env["AWS_ENDPOINT_URL"] == "http://ray101-minio:9000", source


# ---------------------------------------------------------------- RayJobs wait for their data


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
    assert commands[0][:3] == ["python", "-m", "jobs.cli"]
    return [checks.probe_python(), *commands[0][1:], "--interval", "1"]


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


# ---------------------------------------------------------------- negative cases


def test_misspelled_rayjob_field_is_rejected(rendered, kubernetes, crds):
    def misspell(job):
        job["spec"]["entryPoint"] = job["spec"].pop("entrypoint")

    broken = _mutated(rendered["helm:default"], "RayJob", "ray101-dag", misspell)
    problems = schemas.validate(broken, kubernetes, crds)
    assert [str(p) for p in problems] == [
        "[helm:default] RayJob/ray101-dag: spec.entryPoint: unknown field 'entryPoint'"
    ]


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


def test_unknown_field_deep_in_a_ray_pod_template_is_rejected(rendered, kubernetes, crds):
    def typo(cluster):
        cluster["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resource"] = {}

    broken = _mutated(rendered["kustomize:kind"], "RayCluster", "ray101", typo)
    problems = schemas.validate(broken, kubernetes, crds)
    assert len(problems) == 1
    assert problems[0].kind == "RayCluster" and problems[0].name == "ray101"
    assert problems[0].field == "spec.workerGroupSpecs[0].template.spec.containers[0].resource"


def test_unknown_field_in_a_core_object_is_rejected(rendered, kubernetes, crds):
    broken = _mutated(
        rendered["helm:kind"],
        "StatefulSet",
        "ray101-mongodb",
        lambda s: s["spec"].update(replica=1),
    )
    problems = schemas.validate(broken, kubernetes, crds)
    assert [(p.kind, p.field) for p in problems] == [("StatefulSet", "spec.replica")]


def test_missing_limit_is_reported(rendered, ctx):
    def drop_limit(cluster):
        del cluster["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0][
            "resources"
        ]["limits"]["memory"]

    broken = _mutated(rendered["helm:default"], "RayCluster", "ray101", drop_limit)
    problems = checks.check_rendering(broken, ctx)
    assert [str(p) for p in problems] == [
        "[helm:default] RayCluster/ray101: spec.workerGroupSpecs[0].template.spec.containers[0].resources.limits.memory: "
        "container 'ray-worker' has no memory limit"
    ]


def test_root_container_is_reported(rendered, ctx):
    """In a Ray pod template by the project's checks, in a built-in kind by checkov."""

    def ray_as_root(cluster):
        cluster["spec"]["headGroupSpec"]["template"]["spec"]["securityContext"] = {"runAsUser": 0}

    broken = _mutated(rendered["kustomize:kind"], "RayCluster", "ray101", ray_as_root)
    fields = {p.field for p in checks.check_rendering(broken, ctx)}
    assert "spec.headGroupSpec.template.spec.containers[0].securityContext.runAsNonRoot" in fields
    assert "spec.headGroupSpec.template.spec.containers[0].securityContext.runAsUser" in fields

    def as_root(sts):
        sts["spec"]["template"]["spec"]["securityContext"] = {"runAsUser": 0}

    broken = _mutated(rendered["kustomize:kind"], "StatefulSet", "ray101-mongodb", as_root)
    report = checkov.scan([broken])
    found = {(p.kind, p.name, p.message.split(":")[0]) for p in report.problems}
    assert ("StatefulSet", "ray101-mongodb", "checkov CKV_K8S_23") in found, _report(
        report.problems
    )
    assert all(p.source == "kustomize:kind" for p in report.problems)


def test_checkov_passes_every_rendering_and_every_skip_has_a_reason(rendered):
    report = checkov.scan(rendered.values())
    assert not report.problems, _report(report.problems)
    assert report.failed == 0 and report.passed > 1000 and report.skipped > 0


def test_a_checkov_skip_without_a_reason_is_reported(rendered):
    def bare_skip(deployment):
        deployment["metadata"]["annotations"]["checkov.io/skip1"] = "CKV_K8S_43"

    broken = _mutated(rendered["helm:kind"], "Deployment", "ray101-minio", bare_skip)
    problems = checkov.scan([broken]).problems
    assert [(p.kind, p.name, p.message) for p in problems] == [
        ("Deployment", "ray101-minio", "checkov CKV_K8S_43 is skipped without a reason")
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


def test_pods_that_break_the_restricted_pod_security_standard_are_reported(rendered, ctx):
    def loosen(cluster):
        worker = cluster["spec"]["workerGroupSpecs"][0]["template"]["spec"]
        worker["containers"][0]["securityContext"]["capabilities"] = {"add": ["SYS_ADMIN"]}
        worker["volumes"] = [{"name": "host", "hostPath": {"path": "/"}}]
        cluster["spec"]["autoscalerOptions"]["securityContext"].pop("capabilities")

    broken = _mutated(rendered["helm:kind"], "RayCluster", "ray101", loosen)
    problems = list(checks.check_pod_security_restricted(broken, ctx, checks.EXPECT["helm:kind"]))
    assert [p.field for p in problems] == [
        "spec.workerGroupSpecs[0].template.spec.volumes[0]",
        "spec.workerGroupSpecs[0].template.spec.containers[0].securityContext.capabilities.drop",
        "spec.workerGroupSpecs[0].template.spec.containers[0].securityContext.capabilities.add",
        "spec.autoscalerOptions.securityContext.capabilities.drop",
    ]


def test_the_namespace_enforces_restricted(rendered, ctx):
    (namespace,) = rendered["kustomize:kind"].of_kind("Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"

    def baseline(ns):
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "baseline"

    broken = _mutated(rendered["kustomize:kind"], "Namespace", "ray101", baseline)
    problems = list(
        checks.check_namespace_pod_security(broken, ctx, checks.EXPECT["kustomize:kind"])
    )
    assert [p.field for p in problems] == ["metadata.labels.pod-security.kubernetes.io/enforce"]


def _quantity(value) -> float:
    """A Kubernetes quantity in bytes or cores."""
    text = str(value)
    for suffix, factor in (("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30), ("m", 1e-3)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def _amount(containers: list[dict], section: str, resource: str) -> float:
    return sum(
        _quantity((c.get("resources", {}).get(section) or {}).get(resource, 0)) for c in containers
    )


def _full_scale(r: Rendered, section: str) -> dict[str, float]:
    """CPU and memory of every pod at once, each Ray worker group at maxReplicas,
    the autoscaler sidecars included; a pod counts the larger of its init
    containers and the sum of its containers, as the scheduler does."""
    total = {"cpu": 0.0, "memory": 0.0}
    for obj in r.all_objects():
        spec = obj.get("spec", {}).get("rayClusterConfig") or obj.get("spec", {})
        groups = {g["groupName"]: g["maxReplicas"] for g in spec.get("workerGroupSpecs") or []}
        for tpl in pod_templates(obj):
            count = groups.get(tpl.group, 1)
            for resource in total:
                pods = [
                    tpl.spec.get("containers") or [],
                    *([c] for c in tpl.spec.get("initContainers") or []),
                ]
                total[resource] += count * max(_amount(cs, section, resource) for cs in pods)
        if obj["kind"] in ("RayCluster", "RayService"):
            for resource in total:
                total[resource] += _quantity(
                    spec["autoscalerOptions"]["resources"][section][resource]
                )
    return total


def test_the_kind_rendering_fits_the_docker_budget_docs_kind_states(rendered):
    text = (REPO_ROOT / "docs" / "kind.md").read_text()
    match = re.search(r"Docker needs \*\*(\d+) GiB of memory and (\d+) CPUs\*\*", text)
    assert match, "docs/kind.md states no Docker budget"
    memory, cpus = int(match[1]) * 2**30, int(match[2])
    stated = re.search(r"the pods request about (\d+) GiB and ([\d.]+) CPUs", text)
    for source in ("helm:kind", "kustomize:kind"):
        requests = _full_scale(rendered[source], "requests")
        # kind's control plane (API server, etcd, scheduler) and the node agents take about 1 GiB.
        assert requests["memory"] <= memory - 2**30, (source, requests["memory"] / 2**30)
        assert requests["cpu"] <= cpus - 1, (source, requests["cpu"])
        assert abs(requests["memory"] / 2**30 - int(stated[1])) < 1, requests
        assert abs(requests["cpu"] - float(stated[2])) < 0.5, requests
        limits = _full_scale(rendered[source], "limits")
        head = _obj(rendered[source], "RayCluster", "ray101")["spec"]["headGroupSpec"]
        head_limit = _quantity(
            head["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]
        )
        assert head_limit <= memory / 2 and limits["memory"] > requests["memory"]


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


def _secret_uri(change):
    """A change to the `uri` key of the MongoDB Secret (base64 in data)."""

    def edit(secret):
        uri = base64.b64decode(secret["data"]["uri"]).decode()
        secret["data"]["uri"] = base64.b64encode(change(uri).encode()).decode()

    return edit


def test_only_kind_renderings_use_the_kind_loaded_image(rendered, ctx):
    """A bare `ray101` exists only where `kind load` put it: a cluster would pull
    docker.io/library/ray101 and every pod would sit in ImagePullBackOff."""
    images = {
        source: {
            c["image"].rpartition(":")[0]
            for o in rendered[source].all_objects()
            for t in pod_templates(o)
            for _, c in model_containers(t)
            if "ray101" in c["image"]
        }
        for source in SOURCES
    }
    assert images["helm:kind"] == images["kustomize:kind"] == {"ray101"}
    for source in ("helm:default", "helm:gpu", "kustomize:gpu"):
        assert images[source] == {"registry.example.com/ray101"}, source

    def bare(cluster):
        cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"] = (
            "ray101:0.1.0"
        )

    broken = _mutated(rendered["kustomize:gpu"], "RayCluster", "ray101", bare)
    problems = list(checks.check_images(broken, ctx, checks.EXPECT["kustomize:gpu"]))
    assert [(p.field, p.message.split(":")[0]) for p in problems] == [
        ("spec.headGroupSpec.template.spec.containers[0].image", "'ray101")
    ]
    assert "exists only where `kind load` put it" in problems[0].message


def test_mongodb_uri_pointing_elsewhere_is_reported(rendered, ctx):
    elsewhere = _secret_uri(
        lambda uri: uri.replace("ray101-mongodb.ray101.svc", "mongodb.ray101.svc")
    )
    broken = _mutated(rendered["helm:default"], "Secret", "ray101-mongodb", elsewhere)
    problems = [p for p in checks.check_rendering(broken, ctx) if p.name == "ray101-data-load"]
    assert problems and all(p.field == "spec.template.spec.containers[0].env[0]" for p in problems)
    assert any(
        "'mongodb.ray101.svc' is not the Service 'ray101-mongodb'" in p.message for p in problems
    )


def test_a_password_with_special_characters_reaches_the_driver_intact(ctx):
    """The chart percent-encodes the user info of MONGODB_URI: pymongo's own URI
    parser (what every pod's client runs) gives back the password exactly."""
    from pymongo import uri_parser

    password = "p@ss:w/o%rd?#&+ x"
    r = render.render_chart("h", {"mongodb": {"auth": {"password": password}}})
    secret = _obj(r, "Secret", "ray101-mongodb")
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data["password"] == password  # what MONGO_INITDB_ROOT_PASSWORD reads
    parsed = uri_parser.parse_uri(data["uri"])
    assert (parsed["username"], parsed["password"]) == ("ray101", password)
    assert parsed["nodelist"] == [("ray101-mongodb.ray101.svc", 27017)]
    assert not [p for p in checks.check_mongodb_uri(r, ctx, checks.EXPECT["helm:default"])]


def test_an_overlay_in_another_namespace_keeps_every_client_on_its_mongodb(tmp_path, ctx):
    """No namespace is written into the base: MONGODB_URI (secret.env) names the
    host without one, so `namespace:` in an overlay moves every client along."""
    k8s = render.prepared_k8s_copy(tmp_path)
    overlay = k8s / "overlays" / "elsewhere"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("namespace: team-a\nresources:\n  - ../kind\n")
    moved = render.build_overlay("kustomize:elsewhere", overlay)
    assert {o["metadata"].get("namespace") for o in moved.objects} == {"team-a", None}
    expect = checks.Expect(gpu="none", kind_cluster=True)
    problems = [
        p
        for check in (checks.check_urls, checks.check_mongodb_uri, checks.check_env_references)
        for p in check(moved, ctx, expect)
    ]
    assert not problems, _report(problems)

    # A host pinned to the old namespace is what the check reports.
    pinned = _secret_uri(lambda uri: uri.replace("@ray101-mongodb:", "@ray101-mongodb.ray101.svc:"))
    broken = _mutated(moved, "Secret", "ray101-mongodb", pinned)
    messages = [p.message for p in checks.check_urls(broken, ctx, expect)]
    assert any("is in namespace 'ray101', but the pod runs in 'team-a'" in m for m in messages), (
        messages
    )


def test_network_policy_must_admit_the_loader_and_no_one_else(rendered, ctx):
    def unlabel(job):
        job["spec"]["template"]["metadata"]["labels"].pop("ray101/mongodb-client")

    def label(service):  # the serving cluster's pods must not be admitted
        service["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["metadata"]["labels"][
            "ray101/mongodb-client"
        ] = "true"

    broken = _mutated(rendered["kustomize:kind"], "Job", "ray101-data-load", unlabel)
    broken = _mutated(broken, "RayService", "ray101-echo", label)
    messages = [
        p.message for p in list(checks.check_mongodb(broken, ctx, checks.EXPECT["kustomize:kind"]))
    ]
    assert messages == [
        "does not admit Job/ray101-data-load spec.template",
        "admits RayService/ray101-echo spec.rayClusterConfig.headGroupSpec.template, which does not use MongoDB",
    ]


def test_network_policy_must_admit_the_mongo_jobs_submitter(rendered, ctx):
    def unlabel(job):
        job["spec"]["submitterPodTemplate"]["metadata"]["labels"].pop("ray101/mongodb-client")

    for source in ("helm:kind", "kustomize:kind"):
        broken = _mutated(rendered[source], "RayJob", "ray101-mongo", unlabel)
        messages = [
            p.message for p in list(checks.check_mongodb(broken, ctx, checks.EXPECT[source]))
        ]
        assert messages == ["does not admit RayJob/ray101-mongo spec.submitterPodTemplate"]


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
        "ray101-minio",
        lambda s: s["spec"]["selector"].update({"app.kubernetes.io/component": "mini"}),
    )
    problems = list(checks.check_services(broken, ctx, checks.EXPECT["helm:kind"]))
    assert [(p.kind, p.name, p.field) for p in problems] == [
        ("Service", "ray101-minio", "spec.selector")
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
    """Runs against a stand-in Serve module so it does not depend on jobs/echo/."""
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


# ---------------------------------------------------------------- the CRD schemas


def test_closing_a_crd_schema_rejects_unknown_fields_but_keeps_open_ones():
    import jsonschema

    schema = {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"a": {"type": "string"}}},
            "free": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "properties": {},
            },
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    doc = {"spec": {"a": "x", "b": "y"}, "free": {"anything": 1}, "map": {"k": "v"}}
    assert jsonschema.Draft4Validator(schema).is_valid(doc)  # what plain validation does
    errors = list(jsonschema.Draft4Validator(schemas.close_schema(schema)).iter_errors(doc))
    assert [(list(e.path), e.validator) for e in errors] == [(["spec"], "additionalProperties")]


def test_a_crd_directory_named_by_its_variable_must_hold_the_crds(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBERAY_CRDS_DIR", str(tmp_path))
    (kuberay, _) = crd_dirs.crd_sets(render.versions())
    with pytest.raises(schemas.SchemaSetupError, match="KUBERAY_CRDS_DIR must name"):
        crd_dirs.locate(kuberay)


def test_command_line_exits_2_when_the_crds_are_missing(tmp_path, monkeypatch, capsys):
    from tools.manifests.__main__ import main

    monkeypatch.setenv("KUBERAY_CRDS_DIR", str(tmp_path / "nowhere"))
    assert main([]) == 2
    assert "no KubeRay CRDs in" in capsys.readouterr().err


def test_crds_come_from_the_shared_directory_when_no_variable_is_set(monkeypatch):
    monkeypatch.delenv("KUBERAY_CRDS_DIR", raising=False)
    monkeypatch.delenv("PROMETHEUS_OPERATOR_CRDS_DIR", raising=False)
    sets = crd_dirs.crd_sets(render.versions())
    shared = REPO_ROOT.parent / "shared"
    if not (shared / "kuberay").is_dir():
        pytest.skip(f"no {shared} beside this checkout: the download path is tested below")
    assert [crd_dirs.locate(s) for s in sets] == [
        shared / "kuberay" / "v1.7.0" / "crds",
        shared / "prometheus-operator" / "v0.93.0" / "crds",
    ]


def test_without_shared_crds_a_fresh_clone_downloads_them_once(tmp_path, monkeypatch):
    """From a local server standing in for GitHub: fetched into the cache, then
    read from there without another request."""
    monkeypatch.delenv("KUBERAY_CRDS_DIR", raising=False)
    (kuberay, _) = crd_dirs.crd_sets(render.versions())
    source = REPO_ROOT.parent / "shared" / "kuberay" / "v1.7.0" / "crds"
    served = tmp_path / "served"
    served.mkdir()
    for name in kuberay.files:
        text = (source / name).read_text() if (source / name).exists() else ""
        (served / name).write_text(text or "kind: CustomResourceDefinition\n")
    requests: list[str] = []

    class Files(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        local = dataclasses.replace(kuberay, base_url=f"http://127.0.0.1:{server.server_port}")
        cache = tmp_path / "cache"
        found = crd_dirs.locate(local, cache=cache, shared=tmp_path / "no-shared")
        assert found == cache / "kuberay" / "v1.7.0"
        assert sorted(p.name for p in found.iterdir()) == sorted(kuberay.files)
        assert len(requests) == len(kuberay.files)
        assert crd_dirs.locate(local, cache=cache, shared=tmp_path / "no-shared") == found
        assert len(requests) == len(kuberay.files), "the cache is read, not fetched again"
        broken = dataclasses.replace(local, base_url=f"http://127.0.0.1:{server.server_port}/gone")
        with pytest.raises(
            schemas.SchemaSetupError, match="could not download .* set KUBERAY_CRDS_DIR"
        ):
            crd_dirs.locate(broken, cache=tmp_path / "other", shared=tmp_path / "no-shared")
    finally:
        server.shutdown()
        server.server_close()


def test_monitoring_kinds_are_validated_against_the_prometheus_operator_crds(kubernetes, crds):
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "ray101-ray", "namespace": "ray101"},
        "spec": {
            "selector": {"matchLabels": {"ray.io/cluster": "ray101"}},
            "podMetricsEndpoints": [{"port": "metrics", "intervall": "30s"}],
        },
    }
    problems = schemas.validate(Rendered("t", [monitor], "given"), kubernetes, crds)
    assert [(p.kind, p.field) for p in problems] == [
        ("PodMonitor", "spec.podMetricsEndpoints[0].intervall")
    ]


def test_the_checker_reads_rendered_yaml_from_standard_input(rendered, tmp_path):
    """What a user runs on their own overlay: `kubectl kustomize DIR | scripts/check-manifests -`."""
    # Not the kind overlay: piped YAML is not known to be for kind, so its
    # kind-loaded image would be a problem (the registry-named GPU overlay is not).
    good = yaml.safe_dump_all(rendered["kustomize:gpu"].all_objects())
    bad = good.replace("entrypoint: python -m jobs.dag", "entryPoint: python -m jobs.dag")
    assert bad != good
    for text, code in ((good, 0), (bad, 1)):
        result = subprocess.run(
            ["bash", str(REPO_ROOT / "scripts" / "check-manifests"), "-"],
            input=text,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == code, result.stdout + result.stderr
    assert "[stdin] RayJob/ray101-dag: spec.entryPoint: unknown field 'entryPoint'" in result.stdout


# ---------------------------------------------------------------- the chart's values


def _render(values: dict) -> Rendered:
    return render.render_chart("helm:test", values)


def test_schema_rejects_unknown_and_mistyped_values():
    import helm_python

    with pytest.raises(helm_python.HelmError, match="verison"):
        _render({"ray": {"verison": "2.60.0"}})
    with pytest.raises(helm_python.HelmError, match="replicas"):
        _render({"ray": {"cpuWorkers": {"replicas": "two"}}})
    with pytest.raises(helm_python.HelmError, match="tag"):
        _render({"image": {"tag": "latest"}})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"ray": {"gpuWorkers": {"gpusPerWorker": 0}}}, "gpusPerWorker >= 1"),
        ({"ray": {"cpuWorkers": {"replicas": 9}}}, "minReplicas <= replicas <= maxReplicas"),
        ({"mongodb": {"enabled": False}}, "jobs.workloads.mongo needs mongodb.enabled"),
        ({"minio": {"enabled": False}}, "jobs.workloads.tune needs shared storage"),
        ({"echo": {"enabled": False}}, "tests.enabled calls the echo service"),
        ({"fullnameOverride": "a-name-that-is-far-too-long-for-kuberay"}, None),
    ],
)
def test_validate_values_rejects_broken_combinations(values, message):
    import helm_python

    with pytest.raises(helm_python.HelmError) as caught:
        _render(values)
    if message:
        assert message in str(caught.value)


def test_each_part_can_be_switched_off(ctx, kubernetes, crds):
    values = {
        "mongodb": {"enabled": False},
        "minio": {"enabled": False},
        "echo": {"enabled": False},
        "tests": {"enabled": False},
        "ray": {"gpuWorkers": {"enabled": False}},
        "jobs": {
            "workloads": {
                "mongo": {"enabled": False},
                "counter": {"enabled": False},
            },
            "storagePath": "gs://my-bucket/ray101",
        },
    }
    r = _render(values)
    kinds = {(o["kind"], o["metadata"]["name"]) for o in r.all_objects()}
    assert kinds == {
        ("RayCluster", "ray101"),
        ("NetworkPolicy", "ray101-no-ingress"),
        *{("RayJob", f"ray101-{w}") for w in ("retrieve", "dependencies", "dag", "tune")},
    }
    tune = yaml.safe_load(_obj(r, "RayJob", "ray101-tune")["spec"]["runtimeEnvYAML"])["env_vars"]
    assert tune == {"RAY101_STORAGE_PATH": "gs://my-bucket/ray101"}
    # A cloud bucket exists before the job: nothing to wait for.
    tune_pod = _obj(r, "RayJob", "ray101-tune")["spec"]["submitterPodTemplate"]["spec"]
    assert "initContainers" not in tune_pod
    cluster_env = pod_templates(_obj(r, "RayCluster", "ray101"))[0].spec["containers"][0]
    assert "env" not in cluster_env
    problems = schemas.validate(r, kubernetes, crds) + checks.check_rendering(
        r, ctx, checks.Expect(gpu="none", all_parts=False)
    )
    assert not problems, _report(problems)


def test_a_render_without_a_cluster_refuses_to_draw_passwords():
    """helm template, a client-side dry run, Argo CD and Flux render without a
    cluster: `lookup` finds no Secret there, and a new random password per render
    would drift from the one MongoDB keeps. The chart fails instead."""
    import base64

    import helm_python

    for values, missing in (
        ({}, "ray101-mongodb"),
        ({"mongodb": {"auth": {"password": "s3cretPassw0rd"}}}, "ray101-minio"),
    ):
        with pytest.raises(helm_python.HelmError) as caught:
            render.render_chart("helm:gitops", values, offline=False)
        message = str(caught.value)
        assert "rendered without a cluster" in message and f"the Secret {missing}" in message
        assert "existingSecret" in message

    def secret_data(values):
        secret = _obj(render.render_chart("h", values, offline=False), "Secret", "ray101-mongodb")
        return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}

    given = secret_data(
        {
            "mongodb": {"auth": {"password": "s3cretPassw0rd"}},
            "minio": {"auth": {"existingSecret": "my-s3"}},
        }
    )
    assert given["password"] == "s3cretPassw0rd"
    assert (
        given["uri"]
        == "mongodb://ray101:s3cretPassw0rd@ray101-mongodb.ray101.svc:27017/?authSource=admin"
    )


def test_existing_secrets_replace_the_generated_ones():
    r = _render(
        {
            "mongodb": {"auth": {"existingSecret": "my-mongo"}},
            "minio": {"auth": {"existingSecret": "my-s3"}},
        }
    )
    assert not r.of_kind("Secret")
    names = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for o in r.all_objects()
        for t in pod_templates(o)
        for c in t.spec.get("containers", [])
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert names == {"my-mongo", "my-s3"}


def test_passwords_stay_stable_across_upgrades_by_lookup():
    """The Secret templates read the installed password back before drawing a new
    one, and draw one only when Helm reaches a cluster."""
    helpers = (CHART_DIR / "templates" / "_helpers.tpl").read_text()
    assert 'lookup "v1" "Secret" .ctx.Release.Namespace .secret' in helpers
    assert 'lookup "v1" "Namespace" "" "kube-system"' in helpers and "randAlphaNum" in helpers
    for template in ("mongodb/secret.yaml", "minio/secret.yaml"):
        text = (CHART_DIR / "templates" / template).read_text()
        assert 'include "ray101.password"' in text, template
        assert "helm.sh/resource-policy: keep" in text, template


def _undocumented_values(text: str) -> list[str]:
    """Leaves of a values file with no `# --` comment on them or on an enclosing key."""
    undocumented = []
    stack: list[tuple[int, bool]] = []  # (indent, documented) of enclosing keys
    comment = False
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("# --"):
            comment = True
            continue
        if not stripped or stripped.startswith("#"):
            continue
        match = re.match(r"^(\s*)([A-Za-z0-9_./-]+):(.*)$", line)
        if not match:
            continue  # a list item or a continuation
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        documented = comment or any(d for _, d in stack)
        comment = False
        following = (n for n in lines[i + 1 :] if n.strip() and not n.strip().startswith("#"))
        next_line = next(following, "")
        is_leaf = (
            bool(match.group(3).strip())
            or len(next_line) - len(next_line.lstrip()) <= indent
            or next_line.lstrip().startswith("- ")
        )
        if is_leaf and not documented:
            undocumented.append(f"line {i + 1}: {match.group(2)}")
        stack.append((indent, documented))
    return undocumented


def test_every_value_is_documented():
    for path in sorted(CHART_DIR.glob("values*.yaml")):
        undocumented = _undocumented_values(path.read_text())
        assert not undocumented, f"{path.name}: " + ", ".join(undocumented)


def test_an_undocumented_value_is_found():
    text = "a:\n  # -- documented\n  b: 1\n  c: 2\n# -- a map, documented as a whole\nd:\n  e: 3\n"
    assert _undocumented_values(text) == ["line 4: c"]


def test_notes_tell_how_to_connect():
    notes = render.render_notes(None)
    for needle in (
        "port-forward svc/ray101-head-svc 8265:8265",
        "get secret ray101 -o jsonpath='{.data.auth_token}'",
        "ray job submit --address http://localhost:8265",
        "port-forward svc/ray101-echo-serve-svc 8000:8000",
        "helm test ray101",
        "get secret ray101-mongodb -o jsonpath='{.data.password}'",
    ):
        assert needle in notes
    assert "WARNING" not in notes
    insecure = render.render_notes(
        {"ray": {"auth": {"mode": "disabled"}, "head": {"serviceType": "LoadBalancer"}}}
    )
    assert insecure.count("WARNING") == 2


# ---------------------------------------------------------------- kustomize files


def test_credentials_files_are_git_ignored_and_examples_are_not():
    examples = sorted(K8S_DIR.rglob("*.env.example"))
    assert {p.parent.name for p in examples} == {"mongodb", "minio"}
    targets = [
        str(p.with_name(p.name.removesuffix(".example")).relative_to(REPO_ROOT)) for p in examples
    ]
    ignored = subprocess.run(
        ["git", "check-ignore", *targets], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert ignored.stdout.split() == targets
    shown = subprocess.run(
        ["git", "check-ignore", *[str(p.relative_to(REPO_ROOT)) for p in examples]],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert shown.stdout == ""


def test_example_credentials_match_the_manifests(rendered):
    example = dict(
        line.split("=", 1)
        for line in (K8S_DIR / "base" / "mongodb" / "secret.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(example) == {"username", "password", "uri"}
    assert example["uri"] == (
        f"mongodb://{example['username']}:{example['password']}@ray101-mongodb:27017/?authSource=admin"
    )
    # The placeholder scripts/deploy replaces with a random password.
    assert re.fullmatch(r"[A-Za-z-]+", example["password"])


def test_overlays_explain_themselves():
    for overlay in ("kind", "gpu"):
        readme = K8S_DIR / "overlays" / overlay / "README.md"
        assert readme.is_file() and len(readme.read_text().split()) > 40


def test_base_has_one_resource_per_file():
    for path in (K8S_DIR / "base").rglob("*.yaml"):
        if path.name == "kustomization.yaml":
            continue
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert len(docs) == 1, f"{path.relative_to(REPO_ROOT)} holds {len(docs)} resources"


def test_kustomize_build_fails_clearly_without_the_credentials_file(tmp_path):
    copy_dir = render.prepared_k8s_copy(tmp_path)
    (copy_dir / "base" / "mongodb" / "secret.env").unlink()
    with pytest.raises(RuntimeError, match="secret.env"):
        render.build_overlay("kustomize:kind", Path(copy_dir / "overlays" / "kind"))


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
