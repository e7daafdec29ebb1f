"""The CI workflows: valid YAML, actions pinned to exact versions, every script
and make target they run exists, and the versions they use are versions.env's.
Also the documented kind path (README, docs/kind.md) lists exactly the scripts."""

from __future__ import annotations

import re
import stat

import pytest
import yaml

from tests.support import REPO_ROOT, VERSIONS

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yaml"
E2E = WORKFLOWS / "e2e-kind.yaml"
ALL = [CI, E2E]
# The kind path, in order; scripts/e2e-kind runs the first four.
KIND_STEPS = ["kind-up", "build-images", "deploy", "submit", "kind-down"]


def load(path):
    workflow = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def steps(workflow):
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


def make_targets() -> set[str]:
    text = (REPO_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*):", text, re.M))


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_workflow_parses_with_triggers_and_jobs(path):
    workflow = load(path)
    assert workflow["name"]
    assert workflow["on"], "no trigger"
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        assert job["runs-on"] and "latest" not in job["runs-on"], f"{name}: pin the runner image"
        assert job.get("timeout-minutes"), f"{name}: no timeout"
        assert job["steps"], f"{name}: no steps"


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_actions_are_pinned_to_exact_versions(path):
    uses = [step["uses"] for _, step in steps(load(path)) if "uses" in step]
    assert uses
    for use in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+", use), f"not an exact version: {use}"


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_scripts_and_make_targets_the_workflow_runs_exist(path):
    runs = "\n".join(step.get("run", "") for _, step in steps(load(path)))
    scripts = set(re.findall(r"(?<![\w/])scripts/([\w-]+)", runs))
    targets = set(re.findall(r"(?<![\w-])make ([\w-]+)", runs))
    assert scripts or targets
    for name in scripts:
        script = REPO_ROOT / "scripts" / name
        assert script.is_file() and script.stat().st_mode & stat.S_IXUSR, f"scripts/{name}"
    assert targets <= make_targets(), f"missing Makefile targets: {targets - make_targets()}"


def test_ci_lints_tests_and_runs_the_mongodb_tests_against_mongo():
    workflow = load(CI)
    assert set(workflow["on"]) >= {"push"}
    runs = {
        job: " ".join(s.get("run", "") for s in j["steps"]) for job, j in workflow["jobs"].items()
    }
    assert any("make lint" in r for r in runs.values())
    assert any(re.search(r"make test$", r.strip()) for r in runs.values())
    with_mongo = [
        name
        for name, job in workflow["jobs"].items()
        if any(
            svc.get("image") == VERSIONS["MONGO_IMAGE"] for svc in job.get("services", {}).values()
        )
    ]
    assert with_mongo, f"no job with a {VERSIONS['MONGO_IMAGE']} service container"
    job = workflow["jobs"][with_mongo[0]]
    assert job["env"]["MONGODB_URI"].startswith("mongodb://127.0.0.1:27017")
    assert "-m mongodb" in runs[with_mongo[0]]
    # The test job installs shellcheck, so tests/repo/test_scripts_bash.py's check runs.
    assert "apt-get install -y shellcheck" in runs["test"]


def test_ci_keeps_the_crds_the_manifest_checks_download():
    """make lint and make test fetch the pinned CRDs themselves (tools/manifests/crds.py)
    into ~/.cache/ray101: the jobs cache that folder, keyed on versions.env."""
    jobs = load(CI)["jobs"]
    for name in ("lint", "test"):
        steps_ = jobs[name]["steps"]
        caches = [
            i
            for i, step in enumerate(steps_)
            if step.get("uses", "").startswith("actions/cache@")
            and step["with"]["path"] == "~/.cache/ray101"
            and "hashFiles('versions.env')" in step["with"]["key"]
        ]
        make = next(
            i for i, s in enumerate(steps_) if re.match(r"make (lint|test)\b", s.get("run", ""))
        )
        assert caches and caches[0] < make, f"{name}: no CRD cache before make"
        assert not any("KUBERAY_CRDS_DIR" in str(s) for s in steps_), "no setup step is needed"


def test_ci_python_is_versions_env_python():
    versions = {
        step["with"]["python-version"]
        for _, step in steps(load(CI))
        if step.get("uses", "").startswith("actions/setup-python@")
    }
    assert versions == {VERSIONS["PYTHON_VERSION"]}


def test_e2e_workflow_runs_the_kind_path_with_versions_env_tools():
    workflow = load(E2E)
    all_steps = [step for _, step in steps(workflow)]
    runs = [step.get("run", "") for step in all_steps]
    assert any("versions.env" in r and "GITHUB_ENV" in r for r in runs)
    by_action = {step["uses"].split("@")[0]: step for step in all_steps if "uses" in step}
    kind = by_action["helm/kind-action"]["with"]
    assert kind["version"] == "${{ env.KIND_VERSION }}"
    assert kind["install_only"] is True, "scripts/kind-up creates the cluster, as on a laptop"
    assert by_action["azure/setup-helm"]["with"]["version"] == "${{ env.HELM_VERSION }}"
    assert (
        by_action["actions/setup-python"]["with"]["python-version"] == "${{ env.PYTHON_VERSION }}"
    )
    assert "scripts/e2e-kind" in runs
    # scripts/e2e-kind runs the e2e tests itself: no second pytest step.
    assert not any("-m e2e" in r for r in runs)
    upload = by_action["actions/upload-artifact"]
    assert upload["if"] == "failure()"
    assert upload["with"]["path"].rstrip("/") == "results/e2e-logs"


def test_make_e2e_runs_the_kind_path_from_a_bare_machine():
    text = (REPO_ROOT / "Makefile").read_text()
    assert "e2e" in make_targets()
    recipe = re.search(r"^e2e:.*\n((?:\t.*\n?)+)", text, re.M)
    assert recipe, "the e2e target has no recipe"
    body = recipe.group(1)
    assert "scripts/e2e " in body and "-m pytest" not in body
    e2e = (REPO_ROOT / "scripts" / "e2e").read_text()
    offline = e2e.index('"${REPO_ROOT}/scripts/offline-images"')
    assert (
        e2e.index("\ndocker_ensure_daemon") < offline < e2e.index('"${REPO_ROOT}/scripts/e2e-kind"')
    )


def kind_commands(markdown: str, heading: str) -> list[str]:
    """The scripts/ commands of the first bash block under ``heading``."""
    section = markdown.split(heading, 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return re.findall(r"^scripts/([\w-]+)", block, re.M)


def test_docs_list_exactly_the_script_steps():
    text = (REPO_ROOT / "docs" / "kind.md").read_text()
    assert kind_commands(text, "## The steps") == KIND_STEPS


def test_readme_deploy_on_kind_lists_exactly_the_script_steps():
    text = (REPO_ROOT / "README.md").read_text()
    assert "## Deploy on kind" in text, "README has no 'Deploy on kind' section"
    commands = kind_commands(text, "## Deploy on kind")
    assert commands == KIND_STEPS
