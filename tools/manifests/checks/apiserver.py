"""What kube-apiserver validates beyond the OpenAPI schema, for the kinds the
project ships: names unique within an object (containers, volumes, ports,
worker groups, Service ports), references inside an object (volume mounts to
volumes), and a Service's ports named when there are several. Label and
selector agreement is in references.py (check_services)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from tools.manifests.checks.context import Context, Expect
from tools.manifests.checks.lookups import dig
from tools.manifests.model import (
    Obj,
    Problem,
    Rendered,
    containers,
    pod_templates,
    ray_cluster_specs,
)


def _duplicates(names: Iterable[str | None]) -> list[str]:
    return sorted(n for n, count in Counter(n for n in names if n).items() if count > 1)


def check_unique_names_and_references(
    r: Rendered, ctx: Context, expect: Expect
) -> Iterator[Problem]:
    """Duplicate names the API server refuses, and mounts of volumes that do not exist."""
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            base = f"{tpl.path}.spec" if tpl.path else "spec"
            every = list(containers(tpl))
            for name in _duplicates(c.get("name") for _, c in every):
                yield r.problem(obj, f"{base}.containers", f"container name {name!r} is used twice")
            volumes = [v.get("name") for v in tpl.spec.get("volumes") or []]
            # A StatefulSet's claim templates are volumes of its pods too.
            claims = [dig(c, "metadata.name") for c in dig(obj, "spec.volumeClaimTemplates") or []]
            for name in _duplicates(volumes):
                yield r.problem(obj, f"{base}.volumes", f"volume name {name!r} is used twice")
            for path, c in every:
                for j, mount in enumerate(c.get("volumeMounts") or []):
                    if mount.get("name") not in volumes + claims:
                        yield r.problem(
                            obj,
                            f"{path}.volumeMounts[{j}].name",
                            f"no volume {mount.get('name')!r} in the pod",
                        )
                ports = c.get("ports") or []
                for name in _duplicates(p.get("name") for p in ports):
                    yield r.problem(obj, f"{path}.ports", f"port name {name!r} is used twice")
                for number in _duplicates(str(p.get("containerPort")) for p in ports):
                    yield r.problem(obj, f"{path}.ports", f"containerPort {number} is listed twice")
                for name in _duplicates(e.get("name") for e in c.get("env") or []):
                    yield r.problem(
                        obj, f"{path}.env", f"variable {name!r} is set twice (the last one wins)"
                    )
        for path, spec in ray_cluster_specs(obj):
            groups = [g.get("groupName") for g in spec.get("workerGroupSpecs") or []]
            for name in _duplicates(groups):
                yield r.problem(
                    obj, f"{path}.workerGroupSpecs", f"groupName {name!r} is used twice"
                )
        if obj.get("kind") == "Service":
            yield from _service_ports(r, obj)


def _service_ports(r: Rendered, svc: Obj) -> Iterator[Problem]:
    ports = dig(svc, "spec.ports") or []
    for name in _duplicates(p.get("name") for p in ports):
        yield r.problem(svc, "spec.ports", f"port name {name!r} is used twice")
    if len(ports) > 1:
        for i, port in enumerate(ports):
            if not port.get("name"):
                yield r.problem(
                    svc, f"spec.ports[{i}].name", "a Service with several ports must name each"
                )
