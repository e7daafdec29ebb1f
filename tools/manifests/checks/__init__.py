"""Checks for mistakes a schema lets through and a cluster would only reveal
at run time, where checkov does not look: inside the pod templates of the
KubeRay objects, and across objects (URIs and Services, selectors and labels,
Secrets and keys, entrypoints and modules). Each check is a generator of
problems; checkov covers the built-in kinds' pod security.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from tools.manifests.checks.apiserver import check_unique_names_and_references
from tools.manifests.checks.chart import check_chart_versions
from tools.manifests.checks.context import EXPECT, Context, Expect, load_context
from tools.manifests.checks.gpu import check_gpu_group, check_tune_uses_the_gpus
from tools.manifests.checks.ha import check_gcs_fault_tolerance
from tools.manifests.checks.identity import check_service_accounts
from tools.manifests.checks.imports import check_imports, probe_python
from tools.manifests.checks.lifecycle import check_one_off_jobs
from tools.manifests.checks.metadata import (
    check_immutable_templates,
    check_labels,
    check_names,
    check_pod_templates_without_release_labels,
)
from tools.manifests.checks.network import check_mongodb, check_ray_heads, check_traffic_sources
from tools.manifests.checks.pods import (
    check_images,
    check_namespace_pod_security,
    check_pod_security_restricted,
    check_resources,
    check_security,
)
from tools.manifests.checks.ray_clusters import check_ray_clusters, check_ray_qos
from tools.manifests.checks.rayjobs import check_rayjob_deadlines, check_rayjobs
from tools.manifests.checks.references import (
    check_env_references,
    check_mongodb_uri,
    check_services,
    check_store_admin_keys,
    check_urls,
)
from tools.manifests.checks.routes import (
    check_disruption_budgets,
    check_pod_monitors,
    check_routes,
)
from tools.manifests.checks.serve import check_serve_config
from tools.manifests.checks.tune_storage import check_tune_storage
from tools.manifests.model import Problem, Rendered

PER_RENDERING: list[Callable[[Rendered, Context, Expect], Iterator[Problem]]] = [
    check_resources,
    check_security,
    check_pod_security_restricted,
    check_namespace_pod_security,
    check_images,
    check_ray_clusters,
    check_ray_qos,
    check_gpu_group,
    check_rayjobs,
    check_rayjob_deadlines,
    check_tune_storage,
    check_tune_uses_the_gpus,
    check_serve_config,
    check_env_references,
    check_urls,
    check_mongodb_uri,
    check_store_admin_keys,
    check_services,
    check_mongodb,
    check_ray_heads,
    check_traffic_sources,
    check_service_accounts,
    check_names,
    check_labels,
    check_immutable_templates,
    check_one_off_jobs,
    check_pod_templates_without_release_labels,
    check_gcs_fault_tolerance,
    check_routes,
    check_disruption_budgets,
    check_pod_monitors,
    check_unique_names_and_references,
]


def check_rendering(r: Rendered, ctx: Context, expect: Expect | None = None) -> list[Problem]:
    expect = expect or EXPECT.get(r.source, Expect(gpu="scale-from-zero"))
    return [p for check in PER_RENDERING for p in check(r, ctx, expect)]


__all__ = [
    "EXPECT",
    "PER_RENDERING",
    "Context",
    "Expect",
    "check_chart_versions",
    "check_imports",
    "check_rendering",
    "load_context",
    "probe_python",
    *(check.__name__ for check in PER_RENDERING),
]
