"""The chart's values: lint, schema, cross-field rules, passwords and Secrets, notes,
documentation of every value, and the kind budget.
"""

from __future__ import annotations

import base64
import re

import pytest
import yaml

from tests.deploy.helpers import _full_scale, _obj, _quantity, _render, _report
from tools.chart import CHART_DIR, REPO_ROOT
from tools.manifests import checks, render, schemas
from tools.manifests.model import pod_templates


@pytest.mark.parametrize("values_file", list(render.CHART_VALUES.values()))
def test_helm_lint_is_clean(values_file, versions):
    problems = render.lint_chart(values_file, versions["KUBERNETES_VERSION"])
    assert not problems, _report(problems)


def test_chart_repeats_versions_env_exactly(versions):
    problems = list(checks.check_chart_versions(CHART_DIR, versions))
    assert not problems, _report(problems)


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
        ({"seaweedfs": {"enabled": False}}, "jobs.workloads.tune needs shared storage"),
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
        "seaweedfs": {"enabled": False},
        "echo": {"enabled": False},
        "tests": {"enabled": False},
        "ray": {"gpuWorkers": {"enabled": False}, "networkPolicy": {"enabled": False}},
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
        ("ServiceAccount", "ray101-ray"),
        ("NetworkPolicy", "ray101-no-ingress"),
        *{("RayJob", f"ray101-{w}") for w in ("retrieve", "dependencies", "dag", "tune")},
    }
    tune = yaml.safe_load(_obj(r, "RayJob", "ray101-tune")["spec"]["runtimeEnvYAML"])["env_vars"]
    assert tune == {"RAY101_STORAGE_PATH": "gs://my-bucket/ray101"}
    # A cloud bucket exists before the job: nothing to wait for.
    tune_pod = _obj(r, "RayJob", "ray101-tune")["spec"]["submitterPodTemplate"]["spec"]
    assert "initContainers" not in tune_pod
    # Neither MongoDB's URI nor S3 keys: only the job API's PENDING bound.
    cluster_env = pod_templates(_obj(r, "RayCluster", "ray101"))[0].spec["containers"][0]
    assert [e["name"] for e in cluster_env["env"]] == ["RAY_JOB_START_TIMEOUT_SECONDS"]
    problems = schemas.validate(r, kubernetes, crds) + checks.check_rendering(
        r, ctx, checks.Expect(gpu="none", all_parts=False)
    )
    assert not problems, _report(problems)


def test_a_render_without_a_cluster_refuses_to_draw_passwords():
    """helm template, a client-side dry run, Argo CD and Flux render without a
    cluster: `lookup` finds no Secret there, and a new random password per render
    would drift from the one MongoDB keeps. The chart fails instead."""

    import helm_python

    store = {"seaweedfs": {"auth": {"existingSecret": "my-s3"}}}
    for values, missing in (
        ({}, "ray101-seaweedfs"),
        (store, "ray101-mongodb"),
        ({**store, "mongodb": {"auth": {"password": "s3cretPassw0rd"}}}, "ray101-mongodb"),
        (
            {"mongodb": {"auth": {"password": "s3cretPassw0rd", "appPassword": "an0ther"}}},
            "ray101-seaweedfs",
        ),
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
            "mongodb": {"auth": {"password": "s3cretPassw0rd", "appPassword": "appPassw0rd"}},
            "seaweedfs": {"auth": {"existingSecret": "my-s3"}},
        }
    )
    assert given["password"] == "s3cretPassw0rd"
    assert (
        given["uri"]
        == "mongodb://ray101-app:appPassw0rd@ray101-mongodb.ray101.svc:27017/?authSource=admin&serverSelectionTimeoutMS=30000"
    )


def test_existing_secrets_replace_the_generated_ones():
    r = _render(
        {
            "mongodb": {"auth": {"existingSecret": "my-mongo"}},
            "seaweedfs": {"auth": {"existingSecret": "my-s3"}},
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
    secrets = (CHART_DIR / "templates" / "_secrets.tpl").read_text()  # ray101.password
    assert 'lookup "v1" "Secret" .ctx.Release.Namespace .secret' in secrets
    assert 'lookup "v1" "Secret" .ctx.Release.Namespace ""' in secrets and "randAlphaNum" in secrets
    for template in ("mongodb/secret.yaml", "seaweedfs/secret.yaml"):
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
        "get secret ray101-mongodb -o jsonpath='{.data.uri}'",
    ):
        assert needle in notes
    assert "WARNING" not in notes
    insecure = render.render_notes(
        {"ray": {"auth": {"mode": "disabled"}, "head": {"serviceType": "LoadBalancer"}}}
    )
    assert insecure.count("WARNING") == 2


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
