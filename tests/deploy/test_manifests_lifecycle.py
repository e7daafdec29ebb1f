"""Sizing and lifecycle: Guaranteed Ray pods off kind, the secret recipes that
draw a value per placeholder, a cluster detected without a cluster-scoped
lookup, Redis outliving the RayClusters on uninstall, MongoDB ready only when
its real server answers."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess

import pytest

from tests.deploy.helpers import SOURCES, _mutated, _obj, _report
from tools.chart import CHART_DIR, K8S_DIR, REPO_ROOT
from tools.manifests import checks

CLOUD = [s for s in SOURCES if "kind" not in s]


@pytest.mark.parametrize("source", SOURCES)
def test_ray_pods_are_guaranteed_off_kind_and_burstable_on_it(rendered, ctx, source):
    r = rendered[source]
    assert list(checks.check_ray_qos(r, ctx, checks.EXPECT[source])) == []
    head = _obj(r, "RayCluster", "ray101")["spec"]["headGroupSpec"]["template"]["spec"]
    resources = head["containers"][0]["resources"]
    equal = resources["requests"] == resources["limits"]
    assert equal is ("kind" not in source), source


def test_a_burstable_ray_pod_off_kind_is_reported(rendered, ctx):
    def burstable(cluster):
        cluster["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resources"][
            "requests"
        ]["memory"] = "1Gi"
        cluster["spec"]["autoscalerOptions"]["resources"]["requests"]["cpu"] = "100m"

    broken = _mutated(rendered["helm:default"], "RayCluster", "ray101", burstable)
    found = _report(list(checks.check_ray_qos(broken, ctx, checks.EXPECT["helm:default"])))
    assert "workerGroupSpecs[0].template.spec.containers[0].resources" in found
    assert "autoscalerOptions.resources: requests below limits" in found


def _recipes() -> list[tuple[str, str]]:
    """(file, script) of every documented recipe that makes the secret.env files."""
    found = []
    for path in [*sorted((REPO_ROOT / "docs").glob("*.md")), *sorted(K8S_DIR.rglob("README.md"))]:
        for block in re.findall(r"```bash\n(.*?)```", path.read_text(), re.S):
            if "secret.env.example" in block:
                script = block.split("kubectl apply")[0]
                found.append((str(path.relative_to(REPO_ROOT)), script))
    return found


def test_the_secret_recipes_are_found():
    where = {w for w, _ in _recipes()}
    assert {"docs/kubernetes.md", "k8s/overlays/kind/README.md"} <= where


@pytest.mark.parametrize(("where", "script"), _recipes())
def test_a_documented_secret_recipe_gives_unrelated_passwords(tmp_path, where, script):
    """Issue 22 item 5: one value for every placeholder made change-me-app the
    root password plus "-app"."""
    shutil.copytree(K8S_DIR, tmp_path / "k8s", ignore=shutil.ignore_patterns("*.env"))
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    secrets: dict[str, str] = {}
    for example in sorted((tmp_path / "k8s").rglob("secret.env.example")):
        made = dict(
            line.split("=", 1)
            for line in example.with_name("secret.env").read_text().splitlines()
            if line and not line.startswith("#")
        )
        for line in example.read_text().splitlines():
            key, _, value = line.partition("=")
            if not line.startswith("#") and re.fullmatch(r"change-me[-a-z]*", value):
                secrets[f"{example.parent.name}.{key}"] = made[key]
        assert "change-me" not in str(made), (where, example)
    assert len(secrets) >= 4, secrets
    for (a, x), (b, y) in itertools.combinations(secrets.items(), 2):
        assert x not in y and y not in x, (where, a, b)
    mongodb = (tmp_path / "k8s/base/mongodb/secret.env").read_text()
    app = re.search(r"^app-password=(.*)$", mongodb, re.M)[1]
    assert f"ray101-app:{app}@" in mongodb


def test_the_examples_ask_for_a_value_per_placeholder():
    for example in K8S_DIR.rglob("secret.env.example"):
        text = example.read_text()
        assert "of its own" in text and "s/change-me/" not in text, example


def test_a_cluster_is_detected_without_a_cluster_scoped_lookup():
    """Issue 22 item 14: a namespace-scoped deployer may list its namespace's
    Secrets (Helm keeps its releases there), not read kube-system."""
    for path in (CHART_DIR / "templates").rglob("*"):
        if path.is_file():
            for call in re.findall(r'lookup\s+"[^"]*"\s+"[^"]*"\s+(\S+)', path.read_text()):
                assert call not in ('""', "nil"), f"{path}: a cluster-scoped lookup"
    secrets = (CHART_DIR / "templates" / "_secrets.tpl").read_text()  # ray101.password
    assert 'lookup "v1" "Secret" .ctx.Release.Namespace ""' in secrets


def test_redis_outlives_the_rayclusters_on_uninstall(rendered):
    """Issue 22 item 15: helm uninstall deletes the RayClusters and Redis in one
    pass, but KubeRay's Redis cleanup Job runs as each cluster goes."""
    r = rendered["helm:all-parts"]
    for kind in ("StatefulSet", "Service"):
        obj = _obj(r, kind, "ray101-redis")
        assert obj["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep", kind
    uninstall = (REPO_ROOT / "docs" / "uninstall.md").read_text()
    assert "kubectl -n ray101 wait --for=delete raycluster --all" in uninstall
    assert uninstall.index("wait --for=delete raycluster") < uninstall.index(
        "delete statefulset,service ray101-redis"
    )


@pytest.mark.parametrize("source", SOURCES)
def test_mongodb_is_ready_only_on_its_pod_address(rendered, source):
    """Issue 22 item 16: the entrypoint's first-start mongod listens on localhost only."""
    sts = _obj(rendered[source], "StatefulSet", "ray101-mongodb")["spec"]["template"]["spec"]
    container = sts["containers"][0]
    assert '--host "$POD_IP"' in " ".join(container["readinessProbe"]["exec"]["command"])
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert sts["securityContext"]["fsGroupChangePolicy"] == "OnRootMismatch"


@pytest.mark.parametrize("source", [s for s in SOURCES if s.startswith("helm:")])
def test_the_one_off_jobs_are_upgrade_hooks(rendered, ctx, source):
    """Issue 22 item 13: a plain `helm upgrade` with a new image re-creates them."""
    r = rendered[source]
    names = {j["metadata"]["name"] for j in r.of_kind("Job")}
    assert names == {"ray101-data-load", "ray101-bucket"}, names
    assert list(checks.check_one_off_jobs(r, ctx, checks.EXPECT[source])) == []


@pytest.mark.parametrize(
    ("annotations", "message"),
    [
        ({}, "not a post-install,post-upgrade hook"),
        ({"helm.sh/hook": "post-install,post-upgrade"}, "without before-hook-creation"),
    ],
)
def test_a_job_helm_upgrade_cannot_replace_is_reported(rendered, ctx, annotations, message):
    def plain(job):
        kept = {
            k: v for k, v in job["metadata"]["annotations"].items() if not k.startswith("helm.sh/")
        }
        job["metadata"]["annotations"] = {**kept, **annotations}

    broken = _mutated(rendered["helm:default"], "Job", "ray101-data-load", plain)
    found = _report(list(checks.check_one_off_jobs(broken, ctx, checks.EXPECT["helm:default"])))
    assert message in found


def test_the_kustomize_base_carries_no_hook_annotations_and_deploy_waits_for_the_hooks():
    for path in (K8S_DIR / "base").rglob("*.yaml"):
        assert "helm.sh/hook" not in path.read_text(), path
    deploy = (REPO_ROOT / "scripts" / "deploy").read_text()
    timeout = int(re.search(r"--timeout (\d+)m\)", deploy)[1])
    loader = (CHART_DIR / "templates" / "mongodb" / "data-load-job.yaml").read_text()
    assert timeout * 60 > int(re.search(r"activeDeadlineSeconds: (\d+)", loader)[1])
