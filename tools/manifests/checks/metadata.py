"""Names, labels and per-release labels where the API server refuses changes."""

from __future__ import annotations

from collections.abc import Iterator

from tools.manifests.checks.context import Context, Expect
from tools.manifests.checks.lookups import (
    DNS_LABEL,
    DNS_SUBDOMAIN,
    KUBERAY_NAME_LIMIT,
    RAY_KINDS,
    STANDARD_LABELS,
    derived_services,
    dig,
)
from tools.manifests.model import (
    Obj,
    Problem,
    Rendered,
    ident,
    pod_templates,
)


def check_names(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Names are valid, fit KubeRay's 47-character limit and the Services derived from them fit 63."""
    for obj in r.all_objects():
        kind, name = ident(obj)
        if not DNS_SUBDOMAIN.match(name or "") or len(name) > 253:
            yield r.problem(obj, "metadata.name", f"{name!r} is not a valid name")
        if kind in RAY_KINDS and len(name) > KUBERAY_NAME_LIMIT:
            yield r.problem(
                obj,
                "metadata.name",
                f"{len(name)} characters; KubeRay allows {KUBERAY_NAME_LIMIT}",
            )
        if kind == "Service" and (not DNS_LABEL.match(name) or len(name) > 63):
            yield r.problem(
                obj, "metadata.name", f"{name!r} is not a DNS label (63 characters at most)"
            )
    for derived in derived_services(r):
        if len(derived) > 63:
            yield r.problem(
                None,
                "metadata.name",
                f"KubeRay's Service {derived!r} would exceed 63 characters",
            )


def check_labels(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """The standard app.kubernetes.io labels on every object, with the project version."""
    for obj in r.all_objects():
        labels = dig(obj, "metadata.labels") or {}
        missing = [k for k in STANDARD_LABELS if k not in labels]
        if missing:
            yield r.problem(obj, "metadata.labels", f"missing {', '.join(missing)}")
        version = labels.get("app.kubernetes.io/version")
        if version is not None and str(version) != ctx.versions["RAY101_VERSION"]:
            yield r.problem(
                obj,
                "metadata.labels.app.kubernetes.io/version",
                f"{version!r} is not versions.env RAY101_VERSION",
            )


# Labels whose value changes with every release.
RELEASE_LABELS = ("app.kubernetes.io/version", "helm.sh/chart")


def check_immutable_templates(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """No per-release label where the API server refuses changes after creation
    (a Job's pod template, a StatefulSet's volumeClaimTemplates): the next
    version's `kubectl apply` or `helm upgrade` would fail on it."""
    for obj in r.all_objects():
        kind = obj.get("kind")
        places: list[tuple[str, Obj]] = []
        if kind == "Job":
            places.append(("spec.template.metadata.labels", dig(obj, "spec.template") or {}))
        if kind == "StatefulSet":
            places += [
                (f"spec.volumeClaimTemplates[{i}].metadata.labels", claim)
                for i, claim in enumerate(dig(obj, "spec.volumeClaimTemplates") or [])
            ]
        for where, node in places:
            labels = (node.get("metadata") or {}).get("labels") or {}
            for label in RELEASE_LABELS:
                if label in labels:
                    yield r.problem(
                        obj,
                        f"{where}.{label}",
                        "changes with every release, but this cannot change after "
                        "creation: the next upgrade would be refused",
                    )


def check_pod_templates_without_release_labels(
    r: Rendered, ctx: Context, expect: Expect
) -> Iterator[Problem]:
    """No per-release label in any pod template: a chart or app version there
    changes the template on every release, so each upgrade restarts the pods
    (MongoDB, SeaweedFS, every Ray node) even when nothing they run has changed."""
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            if not tpl.path:  # a bare Pod is its own template
                continue
            for label in RELEASE_LABELS:
                if label in (tpl.metadata.get("labels") or {}):
                    yield r.problem(
                        obj,
                        f"{tpl.path}.metadata.labels.{label}",
                        "changes with every release: each upgrade would restart these pods",
                    )
