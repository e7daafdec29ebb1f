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


# A source whose namespace is not known: only a rule open to every namespace admits it.
ELSEWHERE = "\0another namespace"


def _peer_admits(
    peer: Obj, source_labels: dict[str, str], source_ns: str | None, policy_ns: str | None
) -> bool:
    # An ipBlock may hold pod addresses: it counts as admitting (the worst case).
    if "ipBlock" in peer:
        return True
    if "namespaceSelector" in peer:
        wanted = selector_labels(peer["namespaceSelector"])
        # Only the name label of the source's namespace is known here; a
        # selector on other namespace labels counts as matching.
        name = wanted.get("kubernetes.io/metadata.name")
        if name is not None and name != source_ns:
            return False
        if "podSelector" not in peer:
            return True
    elif source_ns != policy_ns:
        return False  # a bare podSelector selects pods of the policy's own namespace
    wanted = selector_labels(peer.get("podSelector"))
    return not wanted or labels_match(wanted, source_labels)


def _rule_admits(
    rule: Obj,
    source_labels: dict[str, str],
    port: int,
    source_ns: str | None,
    policy_ns: str | None,
) -> bool:
    ports = rule.get("ports") or []
    if ports and not any(p.get("port") in (None, port) for p in ports):
        return False
    peers = rule.get("from") or []
    return not peers or any(
        _peer_admits(peer, source_labels, source_ns, policy_ns) for peer in peers
    )


def admitted(
    policies: list[Obj],
    target_labels: dict[str, str],
    source_labels: dict[str, str],
    port: int,
    namespace: str | None = None,
    source_namespace: str | None = None,
) -> bool:
    """Whether a pod with ``source_labels`` may open ``port`` on pods with
    ``target_labels`` under these NetworkPolicies of namespace ``namespace``.
    The source runs in ``source_namespace`` (default: the same namespace;
    ELSEWHERE: some other namespace whose name is not known)."""
    source_ns = namespace if source_namespace is None else source_namespace
    selecting = [
        p
        for p in policies
        if "Ingress" in (dig(p, "spec.policyTypes") or ["Ingress"])
        and (
            not selector_labels(dig(p, "spec.podSelector"))
            or labels_match(selector_labels(dig(p, "spec.podSelector")), target_labels)
        )
    ]
    if not selecting:
        return True  # no policy isolates the target: everything may connect
    return any(
        _rule_admits(rule, source_labels, port, source_ns, namespace)
        for p in selecting
        for rule in dig(p, "spec.ingress") or []
    )


# Ray's own ports on a head: GCS, the job API, Ray Client. The raylet, object
# manager and worker ports are random, so a head's own cluster needs every port
# (RANDOM_RAY_PORT stands for them).
GCS_PORT, JOB_API_PORT, CLIENT_PORT, RANDOM_RAY_PORT = 6379, 8265, 10001, 20000


def check_ray_heads(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """A NetworkPolicy selects every Ray head; it lets the head's own workers
    in on every port and the RayJob submitters of that cluster onto the job API,
    and keeps a pod of the namespace without a client label off GCS, the job API
    and Ray Client."""
    for obj in r.all_objects():
        if obj.get("kind") not in ("RayCluster", "RayService"):
            continue
        templates = pod_templates(obj)
        head = next(t for t in templates if t.group == "head")
        ns = namespace_of(obj)
        policies = [p for p in r.of_kind("NetworkPolicy") if namespace_of(p) == ns]
        if admitted(policies, head.labels, {}, GCS_PORT, ns) and not any(
            labels_match(selector_labels(dig(p, "spec.podSelector")), head.labels) for p in policies
        ):
            if not expect.all_parts:  # ray.networkPolicy.enabled: false
                continue
            yield r.problem(
                obj,
                head.path,
                "no NetworkPolicy selects this head: any pod may reach its GCS, job API and Ray Client",
            )
            continue
        for port, what in (
            (GCS_PORT, "GCS"),
            (JOB_API_PORT, "job API"),
            (CLIENT_PORT, "Ray Client"),
        ):
            if admitted(policies, head.labels, {}, port, ns):
                yield r.problem(
                    obj, head.path, f"any pod of the namespace may reach the head's {what} ({port})"
                )
        for worker in (t for t in templates if t.group != "head"):
            for port in (GCS_PORT, RANDOM_RAY_PORT):
                if not admitted(policies, head.labels, worker.labels, port, ns):
                    yield r.problem(
                        obj, worker.path, f"these workers may not reach their head on port {port}"
                    )
            # Workers listen on random ports too: their own cluster only.
            if not any(
                labels_match(selector_labels(dig(p, "spec.podSelector")), worker.labels)
                for p in policies
            ):
                yield r.problem(
                    obj,
                    worker.path,
                    "no NetworkPolicy selects these workers: any pod may reach their raylets",
                )
            elif admitted(policies, worker.labels, {}, RANDOM_RAY_PORT, ns):
                yield r.problem(
                    obj, worker.path, "any pod of the namespace may reach these workers' Ray ports"
                )
            for peer in templates:
                if not admitted(policies, worker.labels, peer.labels, RANDOM_RAY_PORT, ns):
                    yield r.problem(
                        obj,
                        worker.path,
                        f"{peer.path} of the same cluster may not reach these workers' Ray ports",
                    )
        if obj["kind"] != "RayCluster":
            continue
        for job in r.of_kind("RayJob"):
            selector = dig(job, "spec.clusterSelector") or {}
            if selector.get("ray.io/cluster") != obj["metadata"]["name"]:
                continue
            for t in pod_templates(job):
                if t.path == "spec.submitterPodTemplate" and not admitted(
                    policies, head.labels, t.labels, JOB_API_PORT, ns
                ):
                    yield r.problem(
                        job,
                        t.path,
                        f"the submitter may not reach the job API ({JOB_API_PORT}) of its cluster",
                    )


# Where a route's or scrape's traffic comes from: the chart writes the
# namespace of the ingress controller, gateway proxies or Prometheus here.
TRAFFIC_FROM = "ray101/traffic-from-namespace"


def _service_targets(
    r: Rendered, namespace: str | None, name: str, port
) -> list[tuple[Obj, PodTemplate, int]]:
    """(owner, pod template, container port) behind port ``port`` of Service ``name``:
    a rendered Service by its selector and targetPort, or KubeRay's
    <cluster>-head-svc (the head) and <rayservice>-serve-svc (every pod of the
    RayService's cluster: a Serve proxy runs on each node)."""
    found = []
    for svc in r.of_kind("Service"):
        if svc["metadata"]["name"] != name or namespace_of(svc) != namespace:
            continue
        selector = dig(svc, "spec.selector") or {}
        for p in dig(svc, "spec.ports") or []:
            if port not in (p.get("port"), p.get("name")):
                continue
            target = p.get("targetPort", p.get("port"))
            for o, t in templates_in(r, namespace):
                if selector and labels_match(selector, t.labels):
                    number = container_ports(t).get(target, target)
                    if isinstance(number, int):
                        found.append((o, t, number))
    for obj in r.of_kind("RayCluster"):
        if f"{obj['metadata']['name']}-head-svc" == name:
            head = pod_templates(obj)[0]
            number = container_ports(head).get(port, port)
            if isinstance(number, int):
                found.append((obj, head, number))
    for obj in r.of_kind("RayService"):
        if f"{obj['metadata']['name']}-serve-svc" == name and isinstance(port, int):
            found += [(obj, t, port) for t in pod_templates(obj)]
    return found


def _unreached(
    r: Rendered, obj: Obj, field: str, targets, source_ns: str | None
) -> Iterator[Problem]:
    ns = namespace_of(obj)
    policies = [p for p in r.of_kind("NetworkPolicy") if namespace_of(p) == ns]
    where = f"namespace {source_ns!r}" if source_ns != ELSEWHERE else "another namespace"
    for owner, tpl, port in targets:
        if not admitted(policies, tpl.labels, {}, port, ns, source_ns):
            yield r.problem(
                obj,
                field,
                f"no NetworkPolicy lets its traffic (from {where}) reach port {port} of "
                f"{owner['kind']}/{owner['metadata']['name']} {tpl.path}",
            )


def check_traffic_sources(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Every Ingress, HTTPRoute and PodMonitor reaches what it routes to or
    scrapes through the NetworkPolicies: its traffic comes from the namespace
    its ray101/traffic-from-namespace annotation names (an unannotated one from
    some other namespace), and a policy selecting the target pods must let that
    namespace in on the target port. Otherwise the route answers 504 and the
    scrape target stays down, though everything renders and deploys."""

    def source(obj: Obj) -> str:
        return (dig(obj, "metadata.annotations") or {}).get(TRAFFIC_FROM) or ELSEWHERE

    for ing in r.of_kind("Ingress"):
        for i, rule in enumerate(dig(ing, "spec.rules") or []):
            for j, path in enumerate(dig(rule, "http.paths") or []):
                svc = dig(path, "backend.service") or {}
                port = dig(svc, "port.number") or dig(svc, "port.name")
                targets = _service_targets(r, namespace_of(ing), svc.get("name", ""), port)
                field = f"spec.rules[{i}].http.paths[{j}].backend.service"
                yield from _unreached(r, ing, field, targets, source(ing))
    for route in r.of_kind("HTTPRoute"):
        for i, rule in enumerate(dig(route, "spec.rules") or []):
            for j, ref in enumerate(rule.get("backendRefs") or []):
                targets = _service_targets(
                    r, namespace_of(route), ref.get("name", ""), ref.get("port")
                )
                field = f"spec.rules[{i}].backendRefs[{j}]"
                yield from _unreached(r, route, field, targets, source(route))
    for monitor in r.of_kind("PodMonitor"):
        selector = selector_labels(dig(monitor, "spec.selector"))
        for i, endpoint in enumerate(dig(monitor, "spec.podMetricsEndpoints") or []):
            targets = []
            for o, t in templates_in(r, namespace_of(monitor)):
                if not labels_match(selector, t.labels):
                    continue
                ports = container_ports(t)
                if t.labels.get("ray.io/is-ray-node") == "yes":
                    ports = {"metrics": 8080, 8080: 8080, **ports}
                number = ports.get(endpoint.get("port"))
                if isinstance(number, int):
                    targets.append((o, t, number))
            field = f"spec.podMetricsEndpoints[{i}]"
            yield from _unreached(r, monitor, field, targets, source(monitor))
