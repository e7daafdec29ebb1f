"""The scripts as a user runs them without docker or a cluster: missing tools named
with exit 3, scripts/submit's refusals, unknown flags as usage errors, --help."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.repo.scripts_support import (
    COMMANDS,
    MISSING_TOOL,
    SCRIPTS_DIR,
    fake_tools,
    minimal_path,
    run_script,
)
from tests.support import REPO_ROOT


def test_e2e_kind_names_every_missing_tool_and_exits_3(tmp_path):
    result = run_script("e2e-kind", path=minimal_path(tmp_path))
    assert result.returncode == MISSING_TOOL, result.stderr
    for tool in ("docker", "kind", "kubectl", "helm", "curl"):
        assert re.search(rf"^\s+{tool}\s", result.stderr, re.M), f"{tool} not named"
    assert "docs/kind.md" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_e2e_kind_says_when_the_docker_daemon_does_not_answer(tmp_path):
    path = minimal_path(tmp_path, "docker", "kind", "kubectl", "helm", "curl")
    result = run_script("e2e-kind", path=path)
    assert result.returncode == MISSING_TOOL
    assert "daemon does not answer" in result.stderr


def test_kind_up_and_build_images_stop_before_work_without_docker(tmp_path):
    path = minimal_path(tmp_path)
    for name in ("kind-up", "build-images", "kind-down"):
        result = run_script(name, path=path)
        assert result.returncode == MISSING_TOOL, (name, result.stderr)
        assert "needs these tools" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "name a workload"),
        (("nope",), "unknown workload 'nope'; choose one of: retrieve"),
        (("echo",), "echo is a Ray Serve application, not a batch job"),
    ],
)
def test_submit_rejects_what_is_not_a_batch_workload(args, message):
    result = run_script("submit", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_submit_without_a_cluster_exits_3_after_finding_the_module(tmp_path):
    path = minimal_path(tmp_path, real=("python3",))
    result = run_script("submit", "mongo", path=path)
    assert "python -m jobs.mongo" in result.stdout
    assert result.returncode == MISSING_TOOL
    assert "kubectl" in result.stderr


def test_submit_tune_refuses_without_the_storage_its_rayjob_names(tmp_path):
    """Tune's trials on several pods need shared storage: without the tune
    RayJob's RAY101_STORAGE_PATH, scripts/submit says so in one line, exit 3."""
    # A cluster with the RayCluster but a tune RayJob without a runtime env.
    fake = fake_tools(
        tmp_path,
        kubectl='case "$*" in *"get raycluster ray101 -o name"*) echo raycluster.ray.io/ray101 ;; esac\n',
    )
    result = subprocess.run(
        ["bash", str(SCRIPTS_DIR / "submit"), "tune"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"},
    )
    assert result.returncode == MISSING_TOOL, result.stdout + result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "tune needs shared storage, and RayJob ray101/ray101-tune names none" in line


@pytest.mark.parametrize(
    "name",
    [
        *COMMANDS[:3],
        "e2e-kind",
        "kind-down",
        "local-cluster",
        "dashboards",
        "check-manifests",
    ],
)
def test_unknown_flags_are_usage_errors(name):
    result = run_script(name, "--no-such-flag")
    assert result.returncode == 2, result.stderr
    assert "--no-such-flag" in result.stderr


@pytest.mark.parametrize("name", [c for c in COMMANDS if c != "loadtest"])
def test_help_prints_the_header(name):
    result = run_script(name, "--help")
    assert result.returncode == 0
    assert f"scripts/{name}" in result.stdout or name in result.stdout
