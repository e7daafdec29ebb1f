"""The Ray clusters of RayClusters and RayServices: /dev/shm in memory, Recreate
upgrades, a head without CPUs for tasks and with the documented ports, token
auth, the autoscaler, replica bounds, and Guaranteed Ray pods off kind."""

from __future__ import annotations

from collections.abc import Iterator

from tools.manifests.checks.context import Context, Expect
from tools.manifests.checks.lookups import HEAD_PORTS, dig
from tools.manifests.model import (
    Obj,
    Problem,
    Rendered,
    containers,
    pod_templates,
    ray_cluster_specs,
)


def check_ray_clusters(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Head without CPUs for tasks, the documented ports, token auth, autoscaling;
    a standalone RayCluster recreates its pods on a spec change (without it the
    head and running workers keep the old image and Ray version while new
    autoscaled workers get the new one), which only it may set."""
    for obj in r.all_objects():
        if obj.get("kind") in ("RayCluster", "RayService"):
            for tpl in pod_templates(obj):
                memory = {
                    v.get("name")
                    for v in tpl.spec.get("volumes") or []
                    if dig(v, "emptyDir.medium") == "Memory"
                }
                mounts = {
                    m.get("name")
                    for m in (tpl.spec.get("containers") or [{}])[0].get("volumeMounts") or []
                    if m.get("mountPath") == "/dev/shm"
                }
                if not memory & mounts:
                    yield r.problem(
                        obj,
                        f"{tpl.path}.spec.volumes",
                        "no in-memory emptyDir at /dev/shm: Ray's object store would fall back to disk",
                    )
        if obj.get("kind") == "RayCluster" and dig(obj, "spec.upgradeStrategy.type") != "Recreate":
            yield r.problem(
                obj,
                "spec.upgradeStrategy.type",
                "must be Recreate: otherwise an upgrade leaves the head and running workers on the old spec",
            )
        for path, spec in ray_cluster_specs(obj):
            head = spec.get("headGroupSpec") or {}
            if str((head.get("rayStartParams") or {}).get("num-cpus")) != "0":
                yield r.problem(
                    obj,
                    f"{path}.headGroupSpec.rayStartParams.num-cpus",
                    'the head must set num-cpus: "0"',
                )
            head_containers = dig(head, "template.spec.containers") or [{}]
            ports = {
                p.get("name"): p.get("containerPort") for p in head_containers[0].get("ports") or []
            }
            for name, number in HEAD_PORTS.items():
                if ports.get(name) != number:
                    yield r.problem(
                        obj,
                        f"{path}.headGroupSpec.template.spec.containers[0].ports",
                        f"port {name!r} must be {number} (got {ports.get(name)})",
                    )
            if dig(spec, "authOptions.mode") != "token":
                yield r.problem(obj, f"{path}.authOptions.mode", "Ray token authentication is off")
            if spec.get("enableInTreeAutoscaling") is not True:
                yield r.problem(obj, f"{path}.enableInTreeAutoscaling", "the autoscaler is off")
            for i, group in enumerate(spec.get("workerGroupSpecs") or []):
                lo, n, hi = (
                    group.get("minReplicas", 0),
                    group.get("replicas", 0),
                    group.get("maxReplicas", 0),
                )
                if not lo <= n <= hi:
                    yield r.problem(
                        obj,
                        f"{path}.workerGroupSpecs[{i}].replicas",
                        f"group {group.get('groupName')!r}: needs minReplicas <= replicas <= maxReplicas ({lo}, {n}, {hi})",
                    )


def _cpu_mem(resources: Obj, section: str) -> tuple[str, str]:
    values = (resources or {}).get(section) or {}
    return str(values.get("cpu")), str(values.get("memory"))


def check_ray_qos(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Off kind, every container of a Ray pod (and the autoscaler sidecar
    KubeRay adds to the head) requests what it may use, so the pod is
    Guaranteed: KubeRay hands the limits to Ray as --num-cpus/--memory, and a
    Burstable head, the GCS, would be among the first pods a node evicts.
    kind relaxes it on purpose; manifests given on the command line are not held to it."""
    if expect.kind_cluster or not expect.all_parts:
        return
    for obj in r.all_objects():
        for path, spec in ray_cluster_specs(obj):
            sidecar = dig(spec, "autoscalerOptions.resources")
            if (
                spec.get("enableInTreeAutoscaling")
                and sidecar is not None
                and _cpu_mem(sidecar, "requests") != _cpu_mem(sidecar, "limits")
            ):
                yield r.problem(
                    obj,
                    f"{path}.autoscalerOptions.resources",
                    "requests below limits: the head pod would not be Guaranteed",
                )
        if obj.get("kind") not in ("RayCluster", "RayService"):
            continue
        for tpl in pod_templates(obj):
            for field, c in containers(tpl):
                res = c.get("resources") or {}
                if _cpu_mem(res, "requests") != _cpu_mem(res, "limits"):
                    yield r.problem(
                        obj,
                        f"{field}.resources",
                        f"requests {_cpu_mem(res, 'requests')} below limits "
                        f"{_cpu_mem(res, 'limits')}: a Burstable Ray pod, evicted early",
                    )
