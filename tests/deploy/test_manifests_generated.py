"""What `make manifests` generates is current, the two deployment paths agree object
by object, and a workload added to the registry reaches both.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.helpers import _mutated, _obj, _report
from tools.manifests import checks, compare, generate, render
from tools.manifests.render import K8S_DIR, REPO_ROOT


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


def test_generated_files_are_current():
    """`make manifests` would change nothing: the chart's generated values, k8s/base
    and the kind overlay's RayJob patch are what jobs/ and helm/ray101 give."""
    assert generate.differences() == []


def test_a_hand_edited_generated_file_fails_the_check(tmp_path):
    root = _tree_copy(tmp_path)
    job = root / "k8s" / "base" / "ray" / "rayjob-dag.yaml"
    job.write_text(
        job.read_text().replace("entrypoint: timeout --kill-after=30 600", "entrypoint: timeout 60")
    )
    (root / "k8s" / "base" / "ray" / "extra.yaml").write_text("kind: ConfigMap\n")
    result = _in_copy(root, "-m", "tools.manifests.generate", "--check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "k8s/base/ray/rayjob-dag.yaml: differs from what `make manifests` writes" in result.stderr
    )
    assert re.search(r"^-\s+entrypoint: timeout 60 python", result.stderr, re.M), result.stderr
    assert "k8s/base/ray/extra.yaml: not generated any more" in result.stderr
    assert _in_copy(root, "-m", "tools.manifests.generate").returncode == 0
    assert _in_copy(root, "-m", "tools.manifests.generate", "--check").returncode == 0
    assert "entrypoint: timeout --kill-after=30 600 python" in job.read_text()
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
        assert job["spec"]["entrypoint"] == "timeout --kill-after=30 120 python -m jobs.dag --x"
        # The driver's run time; the RayJob's deadline adds the waits and retries.
        pod = job["spec"]["submitterPodTemplate"]["spec"]["activeDeadlineSeconds"]
        assert pod >= 120 and job["spec"]["activeDeadlineSeconds"] > pod


@pytest.mark.parametrize("flavour", ["kind", "gpu", "monitoring"])
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
    # The keys the chart's Secret has (the helm and kustomize Secrets compare equal).
    helm = _obj(rendered["helm:kind"], "Secret", "ray101-mongodb")
    assert (
        set(example)
        == set(helm["data"])
        == {"username", "password", "app-username", "app-password", "uri"}
    )
    assert example["uri"] == (
        f"mongodb://{example['app-username']}:{example['app-password']}@ray101-mongodb:27017/?authSource=admin"
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
