"""References between objects: Secrets and keys, $(VAR) expansion, in-cluster URLs and Services, MONGODB_URI, who holds the S3 store's admin keys, selectors and ports."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from tools.manifests.checks.context import Context, Expect
from tools.manifests.checks.lookups import (
    bucket_created,
    container_ports,
    derived_services,
    dig,
    env_value,
    image_parts,
    labels_match,
    runtime_env_vars,
    selector_labels,
    templates_in,
)
from tools.manifests.model import (
    Obj,
    Problem,
    Rendered,
    containers,
    namespace_of,
    pod_templates,
)


def check_env_references(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Secrets named in env exist with the key; $(VAR) names a variable defined before."""
    secrets = {
        (namespace_of(o), o["metadata"]["name"]): set(o.get("data") or {})
        | set(o.get("stringData") or {})
        for o in r.of_kind("Secret")
    }
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                defined: set[str] = set()
                for i, e in enumerate(c.get("env") or []):
                    ref = dig(e, "valueFrom.secretKeyRef")
                    if ref and not ref.get("optional"):
                        key = (namespace_of(obj), ref.get("name"))
                        if key not in secrets:
                            yield r.problem(
                                obj,
                                f"{path}.env[{i}].valueFrom.secretKeyRef.name",
                                f"Secret {ref.get('name')!r} is not rendered",
                            )
                        elif ref.get("key") not in secrets[key]:
                            yield r.problem(
                                obj,
                                f"{path}.env[{i}].valueFrom.secretKeyRef.key",
                                f"Secret {ref.get('name')!r} has no key {ref.get('key')!r}",
                            )
                    for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", e.get("value") or ""):
                        if var not in defined:
                            yield r.problem(
                                obj,
                                f"{path}.env[{i}].value",
                                f"$({var}) is not defined before {e.get('name')}; it would stay literal",
                            )
                    defined.add(e.get("name"))


def service_for_host(r: Rendered, host: str, namespace: str | None) -> tuple[Obj | None, str]:
    """The Service a DNS name designates: NAME, NAME.NS, NAME.NS.svc[.cluster.local]."""
    parts = host.split(".")
    name = parts[0]
    ns = parts[1] if len(parts) > 1 else namespace
    if len(parts) > 2 and parts[2] != "svc":
        return None, f"{host!r} is not a Service DNS name (NAME.NAMESPACE.svc)"
    if ns != namespace:
        return None, f"{host!r} is in namespace {ns!r}, but the pod runs in {namespace!r}"
    for svc in r.of_kind("Service"):
        if svc["metadata"]["name"] == name and namespace_of(svc) == ns:
            return svc, ""
    return None, f"no Service {name!r} in namespace {ns!r}"


def _check_url(r: Rendered, obj: Obj, field: str, url: str, namespace: str | None) -> list[Problem]:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    if not host or "$(" in host:
        return []
    derived = derived_services(r)
    if host.split(".")[0] in derived:
        name = host.split(".")[0]
        if port is not None and port not in derived[name]:
            return [r.problem(obj, field, f"{url!r}: {name} has no port {port}")]
        return []
    if "." not in host and host not in {s["metadata"]["name"] for s in r.of_kind("Service")}:
        return []  # not an in-cluster name this check knows
    svc, why = service_for_host(r, host, namespace)
    if svc is None:
        return [r.problem(obj, field, f"{url!r}: {why}")]
    ports = [p.get("port") for p in svc["spec"].get("ports") or []]
    if port is not None and port not in ports:
        return [
            r.problem(
                obj,
                field,
                f"{url!r}: Service {svc['metadata']['name']} listens on {ports}, not {port}",
            )
        ]
    return []


# URLs of another release's services (kube-prometheus-stack's Prometheus and
# Grafana, in its own namespace) or of the browser (the Grafana iframe host).
EXTERNAL_URL_ENV = frozenset({"RAY_PROMETHEUS_HOST", "RAY_GRAFANA_HOST", "RAY_GRAFANA_IFRAME_HOST"})


def check_urls(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """In-cluster URLs in env and runtime envs (MONGODB_URI, AWS_ENDPOINT_URL,
    the echo URL) name a rendered Service, in the right namespace, on one of its ports."""
    for obj in r.all_objects():
        ns = namespace_of(obj)
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                for i, e in enumerate(c.get("env") or []):
                    if e.get("name") in EXTERNAL_URL_ENV:
                        continue
                    value = env_value(r, obj, e)
                    if re.match(r"^(https?|mongodb)://", value):
                        yield from _check_url(r, obj, f"{path}.env[{i}]", value, ns)
        for key, value in runtime_env_vars(obj).items():
            if re.match(r"^(https?|mongodb)://", value):
                yield from _check_url(r, obj, f"spec.runtimeEnvYAML.env_vars.{key}", value, ns)


def check_mongodb_uri(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Whoever needs MongoDB gets MONGODB_URI, and its host is the MongoDB Service's DNS name."""
    mongo_services = [
        s
        for s in r.of_kind("Service")
        if any(p.get("port") == 27017 for p in s["spec"].get("ports") or [])
    ]
    if not mongo_services:
        if expect.all_parts:
            yield r.problem(None, "", "no MongoDB Service (port 27017) rendered")
        return
    svc = mongo_services[0]
    names = {
        svc["metadata"]["name"],
        f"{svc['metadata']['name']}.{namespace_of(svc)}",
        f"{svc['metadata']['name']}.{namespace_of(svc)}.svc",
        f"{svc['metadata']['name']}.{namespace_of(svc)}.svc.cluster.local",
    }
    # MongoDB's root user, which only the database pod may hold.
    root_users = {
        env_value(r, sts, e)
        for sts in r.of_kind("StatefulSet")
        for t in pod_templates(sts)
        for _, c in containers(t)
        for e in c.get("env") or []
        if e.get("name") == "MONGO_INITDB_ROOT_USERNAME"
    } - {""}
    users = 0
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                for i, e in enumerate(c.get("env") or []):
                    if e.get("name") != "MONGODB_URI":
                        continue
                    users += 1
                    uri = re.sub(r"\$\([A-Za-z0-9_]+\)", "x", env_value(r, obj, e))
                    host = urlsplit(uri).hostname
                    if urlsplit(uri).username and urlsplit(uri).username in root_users:
                        yield r.problem(
                            obj,
                            f"{path}.env[{i}]",
                            f"connects as MongoDB's root user {urlsplit(uri).username!r}: use the "
                            "workloads' user (readWrite on the sample database only)",
                        )
                    if host not in names:
                        yield r.problem(
                            obj,
                            f"{path}.env[{i}]",
                            f"MongoDB host {host!r} is not the Service {svc['metadata']['name']!r} ({sorted(names)})",
                        )
    if expect.all_parts:
        cluster = next(iter(r.of_kind("RayCluster")), None)
        for tpl in pod_templates(cluster or {}):
            env = {e.get("name") for _, c in containers(tpl) for e in c.get("env") or []}
            if "MONGODB_URI" not in env:
                yield r.problem(
                    cluster,
                    f"{tpl.path}.spec.containers[0].env",
                    "no MONGODB_URI (the mongo workload reads it)",
                )
        if not users:
            yield r.problem(None, "", "no container gets MONGODB_URI")


# The store's image (its short name) and the variables SeaweedFS reads its
# admin identity from.
STORE_IMAGE = "seaweedfs"
STORE_ADMIN_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def check_store_admin_keys(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """The S3 store's admin keys stay in the store's pod and the bucket Job:
    every other pod (the Ray nodes, so every job anyone submits) gets S3 keys
    limited to Tune's bucket, and never the whole store Secret."""
    root_refs: set[tuple[str, str]] = set()
    holders: set[int] = set()
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            for _, c in containers(tpl):
                if image_parts(c.get("image", ""))[0].rsplit("/", 1)[-1] != STORE_IMAGE:
                    continue
                for e in c.get("env") or []:
                    ref = dig(e, "valueFrom.secretKeyRef")
                    if e.get("name") in STORE_ADMIN_ENV and ref:
                        root_refs.add((ref.get("name"), ref.get("key")))
                        holders.add(id(c))
    if not root_refs:
        return
    secrets = {name for name, _ in root_refs}
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                # The bucket Job is the one other holder: it makes the bucket
                # and the Tune identity (jobs/commands/bucket.py).
                if id(c) in holders or bucket_created(c) is not None:
                    continue
                for i, e in enumerate(c.get("env") or []):
                    ref = dig(e, "valueFrom.secretKeyRef") or {}
                    if (ref.get("name"), ref.get("key")) in root_refs:
                        yield r.problem(
                            obj,
                            f"{path}.env[{i}]",
                            f"{e.get('name')} is the S3 store's admin key {ref.get('key')!r}: give "
                            "this pod the Tune identity's keys (read and write on its bucket only)",
                        )
                for i, source in enumerate(c.get("envFrom") or []):
                    if dig(source, "secretRef.name") in secrets:
                        yield r.problem(
                            obj,
                            f"{path}.envFrom[{i}]",
                            f"takes the whole Secret {dig(source, 'secretRef.name')!r}, "
                            "the S3 store's admin keys with it",
                        )


def check_services(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Service selectors match pods, target ports exist; workload selectors match their own pods."""
    for svc in r.of_kind("Service"):
        selector = svc["spec"].get("selector") or {}
        matched = [
            (o, t)
            for o, t in templates_in(r, namespace_of(svc))
            if labels_match(selector, t.labels)
        ]
        if not matched:
            yield r.problem(svc, "spec.selector", f"{selector} matches no pod template")
            continue
        for i, port in enumerate(svc["spec"].get("ports") or []):
            target = port.get("targetPort", port.get("port"))
            for o, t in matched:
                if target not in container_ports(t):
                    yield r.problem(
                        svc,
                        f"spec.ports[{i}].targetPort",
                        f"{target!r} is no container port of {o['kind']}/{o['metadata']['name']}",
                    )
    for obj in r.all_objects():
        kind = obj.get("kind")
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
            selector = selector_labels(dig(obj, "spec.selector"))
            labels = pod_templates(obj)[0].labels
            if not labels_match(selector, labels):
                yield r.problem(
                    obj,
                    "spec.selector.matchLabels",
                    f"{selector} does not match the pod template's labels",
                )
        if kind == "StatefulSet":
            name = dig(obj, "spec.serviceName")
            if name not in {s["metadata"]["name"] for s in r.of_kind("Service")}:
                yield r.problem(obj, "spec.serviceName", f"names no rendered Service ({name!r})")
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                ports = container_ports(tpl)
                for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                    for kind_ in ("httpGet", "tcpSocket", "grpc"):
                        port = dig(c, f"{probe}.{kind_}.port")
                        if port is not None and port not in ports:
                            yield r.problem(
                                obj,
                                f"{path}.{probe}.{kind_}.port",
                                f"{port!r} is no container port",
                            )
