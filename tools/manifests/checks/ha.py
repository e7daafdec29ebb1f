"""GCS fault tolerance: what KubeRay accepts with gcsFaultToleranceOptions, and
that its Redis address, password and NetworkPolicy fit the rendered Redis."""

from __future__ import annotations

from collections.abc import Iterator

from tools.manifests.checks.context import Context, Expect
from tools.manifests.checks.lookups import (
    dig,
    labels_match,
    selector_labels,
    templates_in,
)
from tools.manifests.checks.references import service_for_host
from tools.manifests.model import (
    Obj,
    Problem,
    Rendered,
    namespace_of,
    pod_templates,
    ray_cluster_specs,
)

# What KubeRay's validation (utils/validation.go) refuses next to
# gcsFaultToleranceOptions: the older ways to switch it on.
LEGACY_ANNOTATIONS = ("ray.io/ft-enabled", "ray.io/external-storage-namespace")
LEGACY_HEAD_ENV = ("RAY_REDIS_ADDRESS", "REDIS_PASSWORD")


def _head_env(spec: Obj) -> set[str]:
    containers_ = dig(spec, "headGroupSpec.template.spec.containers") or []
    return {e.get("name") for c in containers_ for e in c.get("env") or []}


def _redis_service(
    r: Rendered, obj: Obj, field: str, address: str
) -> tuple[Obj | None, list[Problem]]:
    """The Service redisAddress (host:port, optionally redis://) names, with its port."""
    hostport = address.removeprefix("redis://").removeprefix("rediss://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return None, [r.problem(obj, field, f"{address!r} is not HOST:PORT")]
    svc, why = service_for_host(r, host, namespace_of(obj))
    if svc is None:
        return None, [r.problem(obj, field, f"{address!r}: {why}")]
    ports = [p.get("port") for p in svc["spec"].get("ports") or []]
    if int(port) not in ports:
        return svc, [
            r.problem(
                obj, field, f"{address!r}: Service {svc['metadata']['name']} listens on {ports}"
            )
        ]
    return svc, []


def _secret_key(r: Rendered, obj: Obj, field: str, ref: Obj) -> Iterator[Problem]:
    for secret in r.of_kind("Secret"):
        if secret["metadata"]["name"] == ref.get("name") and namespace_of(secret) == namespace_of(
            obj
        ):
            keys = set(secret.get("data") or {}) | set(secret.get("stringData") or {})
            if ref.get("key") not in keys:
                yield r.problem(
                    obj, field, f"Secret {ref.get('name')!r} has no key {ref.get('key')!r}"
                )
            return
    yield r.problem(obj, field, f"Secret {ref.get('name')!r} is not rendered")


def check_gcs_fault_tolerance(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """gcsFaultToleranceOptions without the settings KubeRay refuses beside it,
    pointing at a rendered Redis Service and a Secret key; with every option on,
    on every Ray cluster."""
    heads: dict[tuple[str, str, str], Obj] = {}
    redis_services: list[Obj] = []
    for obj in r.all_objects():
        annotations = dig(obj, "metadata.annotations") or {}
        for path, spec in ray_cluster_specs(obj):
            ft = spec.get("gcsFaultToleranceOptions")
            env = _head_env(spec)
            if not ft:
                if "RAY_REDIS_ADDRESS" in env:
                    yield r.problem(
                        obj,
                        f"{path}.headGroupSpec",
                        "RAY_REDIS_ADDRESS without gcsFaultToleranceOptions: KubeRay refuses it",
                    )
                if expect.every_option and obj["kind"] in ("RayCluster", "RayService"):
                    yield r.problem(obj, path, "no gcsFaultToleranceOptions (ha.enabled)")
                continue
            field = f"{path}.gcsFaultToleranceOptions"
            for key in LEGACY_ANNOTATIONS:
                if key in annotations:
                    yield r.problem(
                        obj,
                        f"metadata.annotations.{key}",
                        "KubeRay refuses it with gcsFaultToleranceOptions",
                    )
            for name in sorted(env & set(LEGACY_HEAD_ENV)):
                yield r.problem(
                    obj,
                    f"{path}.headGroupSpec",
                    f"env {name}: KubeRay refuses it with gcsFaultToleranceOptions",
                )
            if "redis-password" in (dig(spec, "headGroupSpec.rayStartParams") or {}):
                yield r.problem(
                    obj,
                    f"{path}.headGroupSpec.rayStartParams.redis-password",
                    "KubeRay refuses it with gcsFaultToleranceOptions (use redisPassword)",
                )
            if ft.get("backend", "redis") != "redis":
                continue
            if not ft.get("redisAddress"):
                yield r.problem(obj, f"{field}.redisAddress", "missing: the Redis backend needs it")
                continue
            svc, found = _redis_service(r, obj, f"{field}.redisAddress", ft["redisAddress"])
            yield from found
            if svc is not None:
                redis_services.append(svc)
            ref = dig(ft, "redisPassword.valueFrom.secretKeyRef")
            if ref:
                yield from _secret_key(r, obj, f"{field}.redisPassword.valueFrom.secretKeyRef", ref)
            elif dig(ft, "redisPassword.value"):
                yield r.problem(
                    obj,
                    f"{field}.redisPassword.value",
                    "a password in the manifest: read it from a Secret",
                )
            for tpl in pod_templates(obj):
                if tpl.group == "head":
                    heads[(obj["kind"], obj["metadata"]["name"], tpl.path)] = obj
    yield from _check_redis_policy(r, redis_services, set(heads))


def _check_redis_policy(
    r: Rendered, services: list[Obj], heads: set[tuple[str, str, str]]
) -> Iterator[Problem]:
    """The NetworkPolicy of each Redis admits the heads that use it and KubeRay's
    cleanup Job, and no other pod."""
    seen = set()
    for svc in services:
        if svc["metadata"]["name"] in seen:
            continue
        seen.add(svc["metadata"]["name"])
        ns = namespace_of(svc)
        pods = [
            t
            for _, t in templates_in(r, ns)
            if labels_match(svc["spec"].get("selector") or {}, t.labels)
        ]
        if not pods:
            yield r.problem(svc, "spec.selector", "selects no Redis pod")
            continue
        policies = [
            p
            for p in r.of_kind("NetworkPolicy")
            if namespace_of(p) == ns
            and labels_match(selector_labels(dig(p, "spec.podSelector")), pods[0].labels)
        ]
        if not policies:
            yield r.problem(
                svc,
                "",
                "no NetworkPolicy selects the Redis pods: every pod may reach the GCS's storage",
            )
            continue
        admitted = set()
        peers: list[dict[str, str]] = []
        for i, rule in enumerate(dig(policies[0], "spec.ingress") or []):
            for peer in rule.get("from") or []:
                if "podSelector" not in peer or "namespaceSelector" in peer or "ipBlock" in peer:
                    yield r.problem(
                        policies[0],
                        f"spec.ingress[{i}].from",
                        "admits more than pods of this namespace",
                    )
                    continue
                selector = selector_labels(peer["podSelector"])
                peers.append(selector)
                admitted |= {
                    (o["kind"], o["metadata"]["name"], t.path)
                    for o, t in templates_in(r, ns)
                    if labels_match(selector, t.labels)
                }
        # KubeRay's cleanup Job, a copy of a head relabelled, runs when a
        # RayCluster is deleted; its deletion waits for the Job.
        head_labels = next(
            (
                t.labels
                for _, t in templates_in(r, ns)
                if t.labels.get("ray.io/node-type") == "head"
            ),
            None,
        )
        cleanup = {**(head_labels or {}), "ray.io/node-type": "redis-cleanup"}
        if heads and not any(labels_match(s, cleanup) for s in peers):
            yield r.problem(
                policies[0],
                "spec.ingress",
                "does not admit KubeRay's Redis cleanup Job (ray.io/node-type: redis-cleanup)",
            )
        for kind, name, path in sorted(heads - admitted):
            yield r.problem(
                policies[0], "spec.ingress", f"does not admit the head {kind}/{name} {path}"
            )
        for kind, name, path in sorted(admitted - heads):
            yield r.problem(
                policies[0],
                "spec.ingress",
                f"admits {kind}/{name} {path}, which is no GCS using Redis",
            )
