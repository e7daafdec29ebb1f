"""Who the pods run as: ServiceAccounts that exist, API tokens only where used."""

from __future__ import annotations

from collections.abc import Iterator

from tools.manifests.checks.context import Context, Expect
from tools.manifests.model import Problem, Rendered, namespace_of, pod_templates


def check_service_accounts(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """A pod template's serviceAccountName is a ServiceAccount of the rendering
    (KubeRay refuses a Ray head whose named ServiceAccount does not exist, and
    a Job's pods never start), and no Ray worker mounts an API token: only a
    head's autoscaler sidecar calls the Kubernetes API."""
    accounts = {(namespace_of(sa), sa["metadata"]["name"]) for sa in r.of_kind("ServiceAccount")}
    for obj in r.all_objects():
        for t in pod_templates(obj):
            name = t.spec.get("serviceAccountName")
            if name and name != "default" and (namespace_of(obj), name) not in accounts:
                yield r.problem(
                    obj,
                    f"{t.path}.spec.serviceAccountName",
                    f"ServiceAccount {name!r} is not rendered: KubeRay refuses the cluster, "
                    "a pod never starts",
                )
            if (
                t.labels.get("ray.io/node-type") == "worker"
                and t.spec.get("automountServiceAccountToken") is not False
            ):
                yield r.problem(
                    obj,
                    f"{t.path}.spec.automountServiceAccountToken",
                    "a Ray worker mounts an API token it never uses",
                )
