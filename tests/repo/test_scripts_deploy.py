"""scripts/deploy without a cluster: the credentials files it makes, a cluster it
cannot reach, what it hands helm (server-side apply with helm 4, extra values
files), finished one-off Jobs deleted first, and a missing credentials example."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.repo.scripts_support import (
    LIB_DIR,
    LIB_SOURCE,
    MISSING_TOOL,
    SCRIPTS_DIR,
    fake_tools,
    kustomize_bin,
    run_script,
)
from tests.support import REPO_ROOT


def test_make_secret_env_gives_each_placeholder_one_random_value_of_its_own_once(tmp_path):
    example = tmp_path / "secret.env.example"
    example.write_text(
        "# a comment\nusername=ray101\npassword=change-me\n"
        "app-password=change-me-app\nuri=mongodb://app:change-me-app@h:27017/\n"
    )

    def make() -> str:
        subprocess.run(
            ["bash", "-c", LIB_SOURCE + 'make_secret_env "$1"', "_", str(example)],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
        )
        return (tmp_path / "secret.env").read_text()

    first = make()
    password = re.search(r"^password=(.*)$", first, re.M).group(1)
    assert re.fullmatch(r"[0-9a-f]{32}", password)
    app = re.search(r"^app-password=(.*)$", first, re.M).group(1)
    assert re.fullmatch(r"[0-9a-f]{32}", app) and app != password, "each placeholder its own value"
    assert f"uri=mongodb://app:{app}@h:27017/" in first
    assert "change-me" not in first
    assert stat.S_IMODE((tmp_path / "secret.env").stat().st_mode) == 0o600
    assert make() == first, "an existing credentials file is kept (MongoDB keeps its password)"

    # The example gains a user (as the S3 store's Tune keys came): the file keeps its
    # values and gets the new keys, with a fresh value.
    example.write_text(example.read_text() + "tuneUser=ray101-tune\ntunePassword=change-me-tune\n")
    grown = make()
    assert grown.startswith(first)
    added = grown.removeprefix(first).splitlines()
    assert added[0] == "tuneUser=ray101-tune"
    tune = added[1].removeprefix("tunePassword=")
    assert re.fullmatch(r"[0-9a-f]{32}", tune) and tune not in (password, app)
    assert make() == grown


def run_deploy_against(fake: Path) -> subprocess.CompletedProcess:
    """scripts/deploy with the fake tools in ``fake`` first on PATH; waits of 1 s."""
    return run_script(
        "deploy", path=f"{fake}:/usr/bin:/bin", env_extra={"RAY101_DEPLOY_TIMEOUT": "1"}
    )


def test_deploy_needs_a_reachable_cluster(tmp_path):
    # A kubeconfig whose server refuses connections: the script says so, exit 3.
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "contexts": [{"name": "nowhere", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "nowhere",
                "users": [{"name": "u", "user": {"token": "x"}}],
            }
        )
    )
    fake_helm = tmp_path / "helm-bin"
    fake_helm.mkdir()
    (fake_helm / "helm").write_text("#!/bin/sh\nexit 0\n")
    (fake_helm / "helm").chmod(0o755)
    kubectl_dir = str(Path(kustomize_bin()).parent)
    path = f"{fake_helm}:{kubectl_dir}:/usr/bin:/bin"
    env_path = {"KUBECONFIG": str(kubeconfig)}
    result = subprocess.run(
        ["bash", str(SCRIPTS_DIR / "deploy")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env_path, "PATH": path},
    )
    if result.returncode == 1 and "is missing" in result.stderr:
        pytest.fail(f"the chart files are not in the repository yet: {result.stderr}")
    assert result.returncode == MISSING_TOOL, result.stderr
    assert "no reachable Kubernetes cluster (kubectl context: nowhere)" in result.stderr


@pytest.mark.parametrize(
    ("helm_version", "apply_flags"),
    [("v4.0.0", ["--server-side=true", "--force-conflicts"]), ("v3.19.0", [])],
)
def test_deploy_takes_back_fields_the_autoscaler_owns_with_helm_4(
    tmp_path, helm_version, apply_flags
):
    """Helm 4 applies server-side, and the autoscaler owns the RayCluster's worker
    groups once it has scaled: a second deploy must force the conflict."""
    # A cluster that answers everything with nothing: the waits after helm time out.
    fake, calls = fake_helm_and_kubectl(tmp_path, helm_version)
    result = run_deploy_against(fake)
    assert result.returncode == 1, result.stderr
    # No StatefulSet listed: MongoDB is not waited for, the RayCluster is.
    assert "MongoDB is not part of this deployment" in result.stdout
    assert "timed out after 1s waiting for RayCluster ray101/ray101 to be ready" in result.stderr
    (call,) = [c for c in calls.read_text().splitlines() if c.startswith("upgrade")]
    args = call.split()
    assert args[:4] == ["upgrade", "--install", "ray101", "helm/ray101"]
    assert [a for a in args if a.startswith(("--server-side", "--force-conflicts"))] == apply_flags


def fake_helm_and_kubectl(tmp_path: Path, helm_version: str = "v4.0.0") -> tuple[Path, Path]:
    """A helm that records its calls and a kubectl that answers nothing."""
    calls = tmp_path / "helm-calls"
    fake = fake_tools(
        tmp_path,
        helm=f'if [ "$1" = version ]; then echo {helm_version}; exit 0; fi\necho "$@" >> "{calls}"\n',
        kubectl="exit 0\n",
    )
    return fake, calls


def test_deploy_passes_the_extra_values_files_to_helm(tmp_path):
    fake, calls = fake_helm_and_kubectl(tmp_path)
    extra = "scripts/kind/values-without-mongodb.yaml"
    result = run_script(
        "deploy",
        path=f"{fake}:/usr/bin:/bin",
        env_extra={"RAY101_DEPLOY_TIMEOUT": "1", "RAY101_EXTRA_VALUES": extra},
    )
    assert result.returncode == 1, result.stderr  # the fake cluster never gets ready
    (call,) = [c for c in calls.read_text().splitlines() if c.startswith("upgrade")]
    args = call.split()
    # After the kind values, so it overrides them.
    assert args[args.index("--values") + 2 : args.index("--values") + 4] == ["--values", extra]


def test_deploy_refuses_an_extra_values_file_that_does_not_exist(tmp_path):
    fake, calls = fake_helm_and_kubectl(tmp_path)
    result = run_script(
        "deploy",
        path=f"{fake}:/usr/bin:/bin",
        env_extra={"RAY101_EXTRA_VALUES": "no/such/values.yaml"},
    )
    assert result.returncode == 2, result.stderr
    assert "RAY101_EXTRA_VALUES names no/such/values.yaml" in result.stderr
    assert not calls.exists() or "upgrade" not in calls.read_text()


def test_deploy_deletes_finished_one_off_jobs_before_applying(tmp_path):
    """A Job's pod template is immutable: a finished loader or bucket Job is
    deleted before helm runs, so a new image re-creates it instead of failing."""
    calls = tmp_path / "calls"
    # The loader has completed; the bucket Job does not exist.
    fake = fake_tools(
        tmp_path,
        kubectl=f'echo "kubectl $*" >> "{calls}"\n'
        'case "$*" in *"get job ray101-data-load"*) echo Complete ;; esac\n',
        helm=f'echo "helm $*" >> "{calls}"\n',
    )
    result = run_deploy_against(fake)
    assert result.returncode == 1, result.stderr  # the waits time out on the fake cluster
    lines = calls.read_text().splitlines()
    delete = "kubectl -n ray101 delete job ray101-data-load --ignore-not-found --wait=true"
    assert delete in lines, lines
    assert not any("delete job ray101-bucket" in line for line in lines)
    helm = next(i for i, line in enumerate(lines) if line.startswith("helm upgrade"))
    assert lines.index(delete) < helm
    # --create-namespace would leave the namespace without Pod Security labels:
    # the chart's Namespace, as `make manifests` rendered it, is applied first.
    namespace = lines.index(f"kubectl apply -f {REPO_ROOT}/k8s/base/namespace.yaml")
    assert namespace < helm
    assert (
        "pod-security.kubernetes.io/enforce: restricted"
        in (REPO_ROOT / "k8s/base/namespace.yaml").read_text()
    )


def test_deploy_kustomize_fails_clearly_without_the_credentials_example(tmp_path):
    shutil.copytree(LIB_DIR, tmp_path / "scripts" / "lib")
    shutil.copy(SCRIPTS_DIR / "deploy", tmp_path / "scripts" / "deploy")
    for name in ("versions.env", "names.env"):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    overlay = tmp_path / "k8s" / "overlays" / "kind"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("resources: []\n")
    result = run_script("deploy", "--kustomize", cwd=tmp_path)
    assert result.returncode == 1
    assert (
        "the MongoDB credentials example is missing: k8s/base/mongodb/secret.env.example"
        in result.stderr
    )
