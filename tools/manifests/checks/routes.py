"""What reaches pods from outside their workload: Ingress and HTTPRoute
backends, PodDisruptionBudgets and PodMonitors select or name what exists."""

from __future__ import annotations

import json
from collections.abc import Iterator

from tools.manifests.checks.context import Context, Expect
from tools.manifests.checks.lookups import (
    container_ports,
    derived_services,
    dig,
    labels_match,
    selector_labels,
    templates_in,
)
from tools.manifests.model import Obj, Problem, Rendered, namespace_of

# The port KubeRay adds to every Ray container (Ray's metrics agent).
KUBERAY_METRICS_PORT = {"metrics": 8080, 8080: 8080}


def _service_ports(r: Rendered, namespace: str | None) -> dict[str, dict[str | int, int]]:
    """Service name -> its ports (by name and number): rendered and KubeRay's."""
    found = dict(derived_services(r))
    for svc in r.of_kind("Service"):
        if namespace_of(svc) == namespace:
            ports: dict[str | int, int] = {}
            for p in svc["spec"].get("ports") or []:
                ports[p["port"]] = p["port"]
                if p.get("name"):
                    ports[p["name"]] = p["port"]
            found[svc["metadata"]["name"]] = ports
    return found


def _backend(
    r: Rendered, obj: Obj, field: str, name: str | None, port: str | int | None
) -> Iterator[Problem]:
    services = _service_ports(r, namespace_of(obj))
    if name not in services:
        yield r.problem(obj, field, f"Service {name!r} is neither rendered nor created by KubeRay")
    elif port not in services[name]:
        yield r.problem(obj, field, f"Service {name!r} has no port {port!r}")


def check_routes(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Ingress and HTTPRoute backends name a Service (rendered, or KubeRay's
    <cluster>-head-svc / <rayservice>-serve-svc) and one of its ports. HTTPRoute
    has no schema here, so this is what checks it beyond its metadata."""
    for ing in r.of_kind("Ingress"):
        for i, rule in enumerate(dig(ing, "spec.rules") or []):
            for j, path in enumerate(dig(rule, "http.paths") or []):
                svc = dig(path, "backend.service") or {}
                port = dig(svc, "port.number") or dig(svc, "port.name")
                field = f"spec.rules[{i}].http.paths[{j}].backend.service"
                yield from _backend(r, ing, field, svc.get("name"), port)
    for route in r.of_kind("HTTPRoute"):
        if not dig(route, "spec.parentRefs"):
            yield r.problem(route, "spec.parentRefs", "attached to no Gateway")
        for i, rule in enumerate(dig(route, "spec.rules") or []):
            refs = rule.get("backendRefs") or []
            if not refs:
                yield r.problem(route, f"spec.rules[{i}].backendRefs", "no backend")
            for j, ref in enumerate(refs):
                field = f"spec.rules[{i}].backendRefs[{j}]"
                if ref.get("kind", "Service") != "Service" or ref.get("group", "") != "":
                    yield r.problem(route, field, "only Service backends are checked")
                    continue
                if "namespace" in ref and ref["namespace"] != namespace_of(route):
                    yield r.problem(
                        route, field, "a backend in another namespace needs a ReferenceGrant"
                    )
                    continue
                yield from _backend(r, route, field, ref.get("name"), ref.get("port"))
    if expect.every_option:
        for kind in ("Ingress", "HTTPRoute"):
            if not r.of_kind(kind):
                yield r.problem(None, "", f"no {kind} rendered")


def check_disruption_budgets(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Each PodDisruptionBudget selects the pods of exactly one workload."""
    for pdb in r.of_kind("PodDisruptionBudget"):
        selector = selector_labels(dig(pdb, "spec.selector"))
        owners = {
            (o["kind"], o["metadata"]["name"])
            for o, t in templates_in(r, namespace_of(pdb))
            if o["kind"] in ("Deployment", "StatefulSet") and labels_match(selector, t.labels)
        }
        if len(owners) != 1:
            yield r.problem(
                pdb,
                "spec.selector",
                f"{selector} selects {len(owners)} workloads ({sorted(owners)}), not one",
            )
    if expect.all_parts:
        budgeted = {p["metadata"]["name"] for p in r.of_kind("PodDisruptionBudget")}
        for obj in r.of_kind("StatefulSet") + r.of_kind("Deployment"):
            if obj["metadata"]["name"] not in budgeted:
                yield r.problem(obj, "", "no PodDisruptionBudget of the same name")


def check_pod_monitors(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """PodMonitors select pods in the namespaces they watch and scrape a port
    those pods have (on Ray pods, the metrics port KubeRay adds); the Grafana
    dashboard ConfigMaps hold JSON dashboards with distinct uids."""
    for monitor in r.of_kind("PodMonitor"):
        namespaces = dig(monitor, "spec.namespaceSelector.matchNames") or [namespace_of(monitor)]
        selector = selector_labels(dig(monitor, "spec.selector"))
        pods = [
            t
            for ns in namespaces
            for _, t in templates_in(r, ns)
            if labels_match(selector, t.labels)
        ]
        if not pods:
            yield r.problem(monitor, "spec.selector", f"{selector} matches no pod template")
        for i, endpoint in enumerate(dig(monitor, "spec.podMetricsEndpoints") or []):
            port = endpoint.get("port")
            for t in pods:
                ports = container_ports(t)
                if t.labels.get("ray.io/is-ray-node") == "yes":
                    ports = {**KUBERAY_METRICS_PORT, **ports}
                if port not in ports:
                    yield r.problem(
                        monitor,
                        f"spec.podMetricsEndpoints[{i}].port",
                        f"{port!r} is no port of {t.path or 'a pod'}",
                    )
                    break
    uids: dict[str, str] = {}
    for cm in r.of_kind("ConfigMap"):
        if (dig(cm, "metadata.labels") or {}).get("grafana_dashboard") != "1":
            continue
        for key, text in (cm.get("data") or {}).items():
            try:
                uid = json.loads(text).get("uid")
            except ValueError as exc:
                yield r.problem(cm, f"data.{key}", f"not JSON: {exc}")
                continue
            if not uid:
                yield r.problem(cm, f"data.{key}", "a dashboard without a uid")
            elif uid in uids:
                yield r.problem(cm, f"data.{key}", f"uid {uid!r} is also {uids[uid]}'s")
            else:
                uids[uid] = cm["metadata"]["name"]
    if expect.every_option:
        if not r.of_kind("PodMonitor"):
            yield r.problem(None, "", "no PodMonitor rendered")
        if not uids:
            yield r.problem(None, "", "no Grafana dashboard ConfigMap rendered")
