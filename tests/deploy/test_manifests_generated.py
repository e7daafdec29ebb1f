"""What `make manifests` (tools.generate) writes is current, a change to the
chart's values or the registry reaches both deployment paths, and the patches
the overlays are made of give back what the chart renders.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import tools.generate
from tests.deploy.helpers import _obj
from tools.chart import K8S_DIR, REPO_ROOT
from tools.generate import kustomize, patches
from tools.manifests import checks, render


def _tree_copy(tmp_path: Path) -> Path:
    """The parts of the repository `make manifests` reads and writes."""
    root = tmp_path / "repo"
    for part in ("jobs", "tools", "helm", "k8s"):
        shutil.copytree(
            REPO_ROOT / part, root / part, ignore=shutil.ignore_patterns("*.env", "__pycache__")
        )
    for name in ("versions.env", "names.env", kustomize.STANDIN_VALUES):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
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


def test_generated_files_are_current():
    """`make manifests` would change nothing: the chart's generated values and the
    kustomize tree (base, overlays, monitoring component) are what jobs/ and
    helm/ray101 give."""
    assert tools.generate.differences() == []


def test_a_hand_edited_generated_file_fails_the_check(tmp_path):
    root = _tree_copy(tmp_path)
    job = root / "k8s" / "base" / "ray" / "rayjob-dag.yaml"
    job.write_text(
        job.read_text().replace("entrypoint: timeout --kill-after=30 600", "entrypoint: timeout 60")
    )
    (root / "k8s" / "base" / "ray" / "extra.yaml").write_text("kind: ConfigMap\n")
    leftover = root / "k8s" / "overlays" / "kind" / "patches" / "raycluster.yaml"
    leftover.parent.mkdir()
    leftover.write_text("- op: remove\n  path: /spec\n")
    result = _in_copy(root, "-m", "tools.generate", "--check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "k8s/base/ray/rayjob-dag.yaml: differs from what `make manifests` writes" in result.stderr
    )
    assert re.search(r"^-\s+entrypoint: timeout 60 python", result.stderr, re.M), result.stderr
    assert "k8s/base/ray/extra.yaml: not generated any more" in result.stderr
    assert "k8s/overlays/kind/patches/raycluster.yaml: not generated any more" in result.stderr
    assert _in_copy(root, "-m", "tools.generate").returncode == 0
    assert _in_copy(root, "-m", "tools.generate", "--check").returncode == 0
    assert "entrypoint: timeout --kill-after=30 600 python" in job.read_text()
    assert not (root / "k8s" / "base" / "ray" / "extra.yaml").exists()
    assert not leftover.parent.exists()


def _helm_and_kustomize(root: Path, kind: str, name: str) -> tuple[dict, dict]:
    """The object as the chart renders it with values-kind.yaml, and as
    k8s/overlays/kind builds it, in the repository copy ``root``."""
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from tools import chart\n"
        "from tools.manifests import render\n"
        "helm = render.render_chart('h', chart.load_values('values-kind.yaml'))\n"
        "k8s = render.prepared_k8s_copy(Path('out'))\n"
        "kustomize = render.build_overlay('k', k8s / 'overlays' / 'kind')\n"
        "print(json.dumps([r.find(*sys.argv[1:]) for r in (helm, kustomize)]))\n"
    )
    result = _in_copy(root, "-c", script, kind, name)
    assert result.returncode == 0, result.stderr
    return tuple(json.loads(result.stdout))


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
    result = _in_copy(root, "-m", "tools.generate")
    assert result.returncode == 0, result.stderr
    assert "wrote k8s/base/ray/rayjob-hello.yaml" in result.stdout
    helm_job, kustomize_job = _helm_and_kustomize(root, "RayJob", "ray101-hello")
    assert helm_job and kustomize_job
    for job in (helm_job, kustomize_job):
        assert job["spec"]["entrypoint"] == "timeout --kill-after=30 120 python -m jobs.dag --x"
        # The driver's run time; the RayJob's deadline adds the waits and retries.
        pod = job["spec"]["submitterPodTemplate"]["spec"]["activeDeadlineSeconds"]
        assert pod >= 120 and job["spec"]["activeDeadlineSeconds"] > pod


def test_a_value_changed_in_values_kind_reaches_the_kind_overlay(tmp_path):
    """The overlays are generated from values-<profile>.yaml, not restated by hand."""
    root = _tree_copy(tmp_path)
    values = root / "helm" / "ray101" / "values-kind.yaml"
    text = values.read_text()
    assert "    maxReplicas: 2\n" in text
    values.write_text(text.replace("    maxReplicas: 2\n", "    maxReplicas: 3\n", 1))
    result = _in_copy(root, "-m", "tools.generate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["wrote k8s/overlays/kind/kustomization.yaml"]
    helm, kustomize = _helm_and_kustomize(root, "RayCluster", "ray101")
    assert [g["maxReplicas"] for g in helm["spec"]["workerGroupSpecs"]] == [3]
    assert [g["maxReplicas"] for g in kustomize["spec"]["workerGroupSpecs"]] == [3]


def _round_trip(a, b, images=None):
    ops = [c.operation() for c in patches.changes(a, b)]
    assert patches.apply(a, ops, images or {}) == b
    return ops


def test_patches_name_list_items_and_replace_a_map_mostly_changed():
    a = {
        "spec": {
            "groups": [
                {"groupName": "cpu", "replicas": 1, "resources": {"cpu": "1", "memory": "1Gi"}},
                {"groupName": "gpu", "replicas": 0},
            ],
            "env": [{"name": "A", "value": "1"}],
            "labels": {"a/b": "x", "c~d": "y"},
        }
    }
    b = copy.deepcopy(a)
    b["spec"]["groups"][0]["resources"] = {"cpu": "2", "memory": "2Gi"}
    del b["spec"]["groups"][1]
    b["spec"]["env"].append({"name": "B", "value": "2"})
    b["spec"]["labels"]["a/b"] = "z"
    assert _round_trip(a, b) == [
        {
            "op": "replace",
            "path": "/spec/groups/0/resources",
            "value": {"cpu": "2", "memory": "2Gi"},
        },
        {"op": "remove", "path": "/spec/groups/1"},
        {"op": "add", "path": "/spec/env/-", "value": {"name": "B", "value": "2"}},
        {"op": "replace", "path": "/spec/labels/a~1b", "value": "z"},
    ]
    # Items in another order: the list is replaced whole.
    c = copy.deepcopy(a)
    c["spec"]["groups"].reverse()
    assert _round_trip(a, c) == [
        {"op": "replace", "path": "/spec/groups", "value": c["spec"]["groups"]}
    ]


def test_an_image_renamed_everywhere_is_an_images_entry_not_a_patch():
    a = {"spec": {"containers": [{"name": "x", "image": "registry.example.com/ray101:0.1.0"}]}}
    b = {"spec": {"containers": [{"name": "x", "image": "ray101:0.1.0"}]}}
    (change,) = patches.changes(a, b)
    assert patches.renamed_image(change) == ("registry.example.com/ray101", "ray101")
    assert patches.apply(a, [], {"registry.example.com/ray101": "ray101"}) == b
    assert patches.split_image("host:5000/ray101@sha256:ab") == ("host:5000/ray101", "@sha256:ab")
    retagged = {"spec": {"containers": [{"name": "x", "image": "ray101:0.2.0"}]}}
    assert patches.renamed_image(patches.changes(b, retagged)[0]) is None


def _cm(name: str, **data: str) -> dict:
    labels = {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/component": "x"}
    meta = {"name": name, "namespace": "ray101", "labels": labels}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def test_an_overlay_adds_deletes_and_patches_objects_and_refuses_a_changed_secret():
    base = [_cm("ray101-x-a", k="1"), _cm("ray101-x-b")]
    other = [_cm("ray101-x-a", k="2"), _cm("ray101-x-c")]
    files = kustomize.layer_files(base, other, where="o", source="s", component=False)
    assert sorted(files) == ["configmap-c.yaml", "kustomization.yaml"]
    added = yaml.safe_load(files["configmap-c.yaml"])
    assert added["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kustomize"
    assert added["metadata"]["namespace"] == "ray101"
    layer = yaml.safe_load(files["kustomization.yaml"])
    assert layer["resources"] == ["../../base", "configmap-c.yaml"]
    patch, delete = layer["patches"]
    assert patch["target"] == {"kind": "ConfigMap", "name": "ray101-x-a"}
    assert yaml.safe_load(patch["patch"]) == [{"op": "replace", "path": "/data/k", "value": "2"}]
    assert yaml.safe_load(delete["patch"])["$patch"] == "delete"

    secret = {**_cm("ray101-mongodb"), "kind": "Secret"}
    changed = {**secret, "data": {"uri": "eA=="}}
    with pytest.raises(SystemExit, match="changes Secret ray101-mongodb"):
        kustomize.layer_files([secret], [changed], where="o", source="s", component=True)


def test_credentials_files_are_git_ignored_and_examples_are_not():
    examples = sorted(K8S_DIR.rglob("*.env.example"))
    assert {p.parent.name for p in examples} == {"mongodb", "seaweedfs"}
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
    # The keys the chart's Secret has (secret.env gives the base's Secret the same).
    helm = _obj(rendered["helm:kind"], "Secret", "ray101-mongodb")
    assert (
        set(example)
        == set(helm["data"])
        == {"username", "password", "app-username", "app-password", "uri"}
    )
    assert example["uri"] == (
        f"mongodb://{example['app-username']}:{example['app-password']}@ray101-mongodb:27017/?authSource=admin&serverSelectionTimeoutMS=30000"
    )
    # The placeholders scripts/deploy replaces with a random password each.
    assert re.fullmatch(r"change-me", example["password"])
    assert re.fullmatch(r"change-me-[a-z]+", example["app-password"])


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
