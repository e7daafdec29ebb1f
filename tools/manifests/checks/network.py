"""NetworkPolicies admit exactly the pods that use what they guard."""

from __future__ import annotations

from collections.abc import Iterator

from tools.manifests.checks.context import Context, Expect
from tools.manifests.checks.lookups import (
    container_ports,
    dig,
    labels_match,
    selector_labels,
    templates_in,
)
from tools.manifests.model import (
    Obj,
    PodTemplate,
    Problem,
    Rendered,
    containers,
    namespace_of,
    pod_templates,
)


def check_mongodb(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """MongoDB has a volume and a NetworkPolicy that admits exactly the
    pods that use it: those given MONGODB_URI (check_mongodb_uri makes sure the
    RayCluster's are)."""
    sets = [o for o in r.of_kind("StatefulSet") if o["metadata"]["name"].endswith("-mongodb")]
    if not sets:
        if expect.all_parts:
            yield r.problem(None, "", "no MongoDB StatefulSet rendered")
        return
    sts = sets[0]
    if not dig(sts, "spec.volumeClaimTemplates"):
        yield r.problem(
            sts, "spec.volumeClaimTemplates", "MongoDB's data would not survive a restart"
        )
    policies = [
        p
        for p in r.of_kind("NetworkPolicy")
        if labels_match(selector_labels(dig(p, "spec.podSelector")), pod_templates(sts)[0].labels)
    ]
    if not policies:
        if expect.all_parts:
            yield r.problem(sts, "", "no NetworkPolicy selects the MongoDB pods")
        return
    policy = policies[0]
    mongo_ports = set(container_ports(pod_templates(sts)[0]).values())
    allowed: list[tuple[Obj, PodTemplate]] = []
    for i, rule in enumerate(dig(policy, "spec.ingress") or []):
        for j, port in enumerate(rule.get("ports") or []):
            if port.get("port") not in mongo_ports:
                yield r.problem(
                    policy,
                    f"spec.ingress[{i}].ports[{j}].port",
                    f"{port.get('port')} is not MongoDB's port",
                )
        for peer in rule.get("from") or []:
            if "namespaceSelector" in peer or "ipBlock" in peer or "podSelector" not in peer:
                yield r.problem(
                    policy, f"spec.ingress[{i}].from", "admits more than pods of this namespace"
                )
                continue
            selector = selector_labels(peer["podSelector"])
            allowed += [
                (o, t)
                for o, t in templates_in(r, namespace_of(policy))
                if labels_match(selector, t.labels)
            ]
    admitted = {(o["kind"], o["metadata"]["name"], t.path) for o, t in allowed}
    # The pods that use MongoDB are the ones given MONGODB_URI: the RayCluster's
    # (drivers and tasks), the loader and the mongo RayJob's submitter, whose
    # init container waits for the loaded data.
    expected = {
        (o["kind"], o["metadata"]["name"], t.path)
        for o in r.all_objects()
        for t in pod_templates(o)
        if any(e.get("name") == "MONGODB_URI" for _, c in containers(t) for e in c.get("env") or [])
    }
    for kind, name, path in sorted(expected - admitted):
        yield r.problem(policy, "spec.ingress", f"does not admit {kind}/{name} {path}")
    for kind, name, path in sorted(admitted - expected):
        yield r.problem(
            policy, "spec.ingress", f"admits {kind}/{name} {path}, which does not use MongoDB"
        )
