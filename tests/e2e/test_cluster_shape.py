"""The deployment's shape on a cluster (issue 22 items 7, 9, 10): every pod
runs this build's image tag, the heads' NetworkPolicy lets in the namespace
the KubeRay operator really runs in, and the kind workers reserve memory so
their allocatable memory adds up to no more than the docker VM.

Thin glue: the judges are in tests/e2e/checks.py (tested in tests/repo/test_e2e_checks.py).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.e2e import checks
from tests.e2e.deployment import NAMESPACE, RAYCLUSTER
from tools.chart import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

TAG_FILE = REPO_ROOT / "results" / "build" / "image-tag"


def test_every_pod_runs_this_builds_image(kube):
    tag = os.environ.get("RAY101_IMAGE_TAG") or (
        TAG_FILE.read_text().strip() if TAG_FILE.exists() else ""
    )
    if not tag:
        pytest.skip("no build recorded (scripts/build-images writes results/build/image-tag)")
    images = {
        pod.metadata.name: container.image
        for pod in kube.core.list_namespaced_pod(NAMESPACE).items
        if pod.status.phase == "Running"
        for container in pod.spec.containers
    }
    assert checks.image_tag_problems(images, tag) == []


def test_the_head_policy_lets_the_operators_namespace_in(kube):
    apps = kube.apps.list_deployment_for_all_namespaces(
        label_selector="app.kubernetes.io/name=kuberay-operator"
    ).items
    if not apps:
        pytest.fail("no KubeRay operator Deployment (app.kubernetes.io/name=kuberay-operator)")
    from kubernetes.client import NetworkingV1Api

    read = NetworkingV1Api(kube.api_client).read_namespaced_network_policy
    policy = kube.api_client.sanitize_for_serialization(read(f"{RAYCLUSTER}-head", NAMESPACE))
    assert checks.operator_namespace_problems(policy, apps[0].metadata.namespace) == []


def test_kind_workers_reserve_what_the_vm_cannot_give_twice(kube):
    nodes = kube.core.list_node().items
    if not all(n.metadata.name.startswith(("ray101-", "kind-")) for n in nodes):
        pytest.skip("not a kind cluster")
    try:
        total = int(
            subprocess.run(
                ["docker", "info", "--format", "{{.MemTotal}}"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        pytest.skip(f"docker info is not available here ({exc})")
    from kubernetes.utils import parse_quantity

    workers = {
        n.metadata.name: int(parse_quantity(n.status.allocatable["memory"]))
        for n in nodes
        if "node-role.kubernetes.io/control-plane" not in (n.metadata.labels or {})
    }
    assert checks.allocatable_problems(workers, total) == []
