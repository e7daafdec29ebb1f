"""What the scripts name and hand to helm and kubectl: the kind config and the
pinned operator, the names the e2e tests use, the log folder the workflow uploads,
and the files, chart, credentials example and kind overlay objects they expect."""

from __future__ import annotations

import re
import shutil
import subprocess

import yaml

from tests.e2e import deployment as e2e
from tests.repo.scripts_support import LIB_SOURCE, SCRIPTS_DIR, kustomize_bin, lib_values
from tests.support import REPO_ROOT, VERSIONS


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
