"""Every rendering of the chart and the overlays passes the project's checks, and a
mistake planted in a RayCluster, a RayService, a template or a Service is
reported: a missing limit, no Recreate upgrades, no /dev/shm, image and Ray
version drift, release labels in immutable and pod templates, a selector that
matches no pod."""

from __future__ import annotations

import pytest

from tests.deploy.helpers import SOURCES, _mutated, _obj, _report
from tools.manifests import checks


@pytest.mark.parametrize("source", SOURCES)
def test_cluster_only_checks_pass(source, rendered, ctx):
    problems = checks.check_rendering(rendered[source], ctx)
    assert not problems, _report(problems)


def test_missing_limit_is_reported(rendered, ctx):
    def drop_limit(cluster):
        del cluster["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0][
            "resources"
        ]["limits"]["memory"]

    broken = _mutated(rendered["helm:default"], "RayCluster", "ray101", drop_limit)
    problems = checks.check_rendering(broken, ctx)
    worker = (
        "[helm:default] RayCluster/ray101: spec.workerGroupSpecs[0].template.spec.containers[0]"
    )
    assert [str(p) for p in problems] == [
        f"{worker}.resources.limits.memory: container 'ray-worker' has no memory limit",
        # and so its requests no longer equal its limits (check_ray_qos)
        f"{worker}.resources: requests ('4', '8Gi') below limits ('4', 'None'): "
        "a Burstable Ray pod, evicted early",
    ]


def test_a_raycluster_without_recreate_upgrades_is_reported(rendered, ctx):
    for source in ("helm:kind", "kustomize:kind"):
        assert _obj(rendered[source], "RayCluster", "ray101")["spec"]["upgradeStrategy"] == {
            "type": "Recreate"
        }
    broken = _mutated(
        rendered["kustomize:kind"],
        "RayCluster",
        "ray101",
        lambda c: c["spec"].pop("upgradeStrategy"),
    )
    problems = list(checks.check_ray_clusters(broken, ctx, checks.EXPECT["kustomize:kind"]))
    assert [(p.kind, p.field) for p in problems] == [("RayCluster", "spec.upgradeStrategy.type")]


def test_a_ray_pod_without_shared_memory_is_reported(rendered, ctx):
    def no_shm(service):
        service["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]["spec"].pop(
            "volumes"
        )

    broken = _mutated(rendered["helm:kind"], "RayService", "ray101-echo", no_shm)
    problems = list(checks.check_ray_clusters(broken, ctx, checks.EXPECT["helm:kind"]))
    assert [(p.kind, p.field) for p in problems] == [
        ("RayService", "spec.rayClusterConfig.workerGroupSpecs[0].template.spec.volumes")
    ]


def test_image_and_ray_version_drift_is_reported(rendered, ctx):
    def drift(cluster):
        cluster["spec"]["rayVersion"] = "2.59.0"
        cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"] = (
            "ray101:latest"
        )

    broken = _mutated(rendered["helm:kind"], "RayCluster", "ray101", drift)
    found = {(p.field, p.message) for p in checks.check_rendering(broken, ctx)}
    assert (
        "spec.rayVersion",
        "'2.59.0' differs from the image's Ray 2.60.0 (versions.env RAY_VERSION)",
    ) in found
    image = "spec.headGroupSpec.template.spec.containers[0].image"
    assert (image, "'ray101:latest' uses :latest") in found
    assert (image, "'ray101:latest': expected tag '0.1.0' (versions.env RAY101_VERSION)") in found


def test_release_labels_in_immutable_templates_are_reported(rendered, ctx):
    def version_everywhere(obj):
        labels = {"app.kubernetes.io/version": "0.1.0"}
        if obj["kind"] == "Job":
            obj["spec"]["template"]["metadata"]["labels"].update(labels)
        else:
            obj["spec"]["volumeClaimTemplates"][0].setdefault("metadata", {})["labels"] = labels

    broken = _mutated(rendered["kustomize:kind"], "Job", "ray101-data-load", version_everywhere)
    broken = _mutated(broken, "StatefulSet", "ray101-mongodb", version_everywhere)
    problems = list(checks.check_immutable_templates(broken, ctx, checks.EXPECT["kustomize:kind"]))
    assert [(p.kind, p.field) for p in problems] == [
        ("StatefulSet", "spec.volumeClaimTemplates[0].metadata.labels.app.kubernetes.io/version"),
        ("Job", "spec.template.metadata.labels.app.kubernetes.io/version"),
    ]


def test_release_labels_in_pod_templates_are_reported(rendered, ctx):
    """A chart version in MongoDB's pod template would restart it on every upgrade."""
    for source in ("helm:default", "kustomize:kind"):
        assert not list(
            checks.check_pod_templates_without_release_labels(
                rendered[source], ctx, checks.EXPECT[source]
            )
        )

    def versioned(sts):
        sts["spec"]["template"]["metadata"]["labels"]["helm.sh/chart"] = "ray101-0.1.0"

    broken = _mutated(rendered["helm:default"], "StatefulSet", "ray101-mongodb", versioned)
    problems = list(
        checks.check_pod_templates_without_release_labels(
            broken, ctx, checks.EXPECT["helm:default"]
        )
    )
    assert [(p.kind, p.field) for p in problems] == [
        ("StatefulSet", "spec.template.metadata.labels.helm.sh/chart")
    ]


def test_service_selecting_no_pod_is_reported(rendered, ctx):
    broken = _mutated(
        rendered["helm:kind"],
        "Service",
        "ray101-seaweedfs",
        lambda s: s["spec"]["selector"].update({"app.kubernetes.io/component": "mini"}),
    )
    problems = list(checks.check_services(broken, ctx, checks.EXPECT["helm:kind"]))
    assert [(p.kind, p.name, p.field) for p in problems] == [
        ("Service", "ray101-seaweedfs", "spec.selector")
    ]
