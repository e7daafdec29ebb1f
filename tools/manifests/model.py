"""The data every stage shares: rendered objects and the problems found in them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from tools.chart import Obj


@dataclass(frozen=True)
class Problem:
    """One finding, naming where it is: the rendering, the object and the field."""

    source: str
    kind: str
    name: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.kind}/{self.name}" if self.kind else "(chart)"
        at = f" {self.field}:" if self.field else ""
        return f"[{self.source}] {where}:{at} {self.message}"


@dataclass
class Rendered:
    """The objects one rendering produced (a chart with some values, or an overlay)."""

    source: str
    objects: list[Obj]
    # "helm" or "kustomize"
    tool: str
    # Helm hooks (helm test Pods) are not part of the release's resources.
    hooks: list[Obj] = field(default_factory=list)

    def all_objects(self) -> list[Obj]:
        return self.objects + self.hooks

    def find(self, kind: str, name: str) -> Obj | None:
        for obj in self.all_objects():
            if obj.get("kind") == kind and obj.get("metadata", {}).get("name") == name:
                return obj
        return None

    def of_kind(self, kind: str) -> list[Obj]:
        return [o for o in self.all_objects() if o.get("kind") == kind]

    def problem(self, obj: Obj | None, field_path: str, message: str) -> Problem:
        kind = (obj or {}).get("kind", "")
        name = (obj or {}).get("metadata", {}).get("name", "")
        return Problem(self.source, kind, name, field_path, message)


def ident(obj: Obj) -> tuple[str, str]:
    return obj.get("kind", ""), obj.get("metadata", {}).get("name", "")


def namespace_of(obj: Obj) -> str | None:
    return obj.get("metadata", {}).get("namespace")


@dataclass(frozen=True)
class PodTemplate:
    """A pod an object will create, with the labels the pods will carry."""

    path: str  # e.g. "spec.workerGroupSpecs[1].template"
    metadata: Obj
    spec: Obj
    labels: dict[str, str]
    group: str = ""  # Ray group: "head" or the worker groupName


def _template(path: str, tpl: Obj | None, extra: dict[str, str], group: str = "") -> PodTemplate:
    tpl = tpl or {}
    meta = tpl.get("metadata") or {}
    labels = {**(meta.get("labels") or {}), **extra}
    return PodTemplate(path, meta, tpl.get("spec") or {}, labels, group)


def _ray_cluster_templates(
    prefix: str, spec: Obj, cluster_name: str | None
) -> Iterator[PodTemplate]:
    # KubeRay labels every pod with its cluster's name (the RayService's cluster
    # name is generated, so it is unknown here), and by its node type.
    extra = {"ray.io/cluster": cluster_name} if cluster_name else {}
    extra["ray.io/is-ray-node"] = "yes"
    head = spec.get("headGroupSpec") or {}
    yield _template(
        f"{prefix}.headGroupSpec.template",
        head.get("template"),
        {**extra, "ray.io/node-type": "head"},
        "head",
    )
    for i, group in enumerate(spec.get("workerGroupSpecs") or []):
        yield _template(
            f"{prefix}.workerGroupSpecs[{i}].template",
            group.get("template"),
            {**extra, "ray.io/node-type": "worker"},
            group.get("groupName", ""),
        )


def pod_templates(obj: Obj) -> list[PodTemplate]:
    """Every pod template inside an object, built-in or KubeRay."""
    kind, name = ident(obj)
    spec = obj.get("spec") or {}
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return [_template("spec.template", spec.get("template"), {})]
    if kind == "CronJob":
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        return [_template("spec.jobTemplate.spec.template", job.get("template"), {})]
    if kind == "Pod":
        return [
            PodTemplate("", obj.get("metadata") or {}, spec, obj["metadata"].get("labels") or {})
        ]
    if kind == "RayCluster":
        return list(_ray_cluster_templates("spec", spec, name))
    if kind == "RayService":
        return list(
            _ray_cluster_templates(
                "spec.rayClusterConfig", spec.get("rayClusterConfig") or {}, None
            )
        )
    if kind == "RayJob":
        found = []
        if spec.get("rayClusterSpec"):
            found += list(
                _ray_cluster_templates("spec.rayClusterSpec", spec["rayClusterSpec"], None)
            )
        if spec.get("submitterPodTemplate"):
            found.append(_template("spec.submitterPodTemplate", spec["submitterPodTemplate"], {}))
        return found
    return []


def containers(tpl: PodTemplate) -> Iterator[tuple[str, Obj]]:
    """(field path, container) for every container and init container."""
    base = f"{tpl.path}.spec" if tpl.path else "spec"
    for key in ("initContainers", "containers"):
        for i, container in enumerate(tpl.spec.get(key) or []):
            yield f"{base}.{key}[{i}]", container


def ray_cluster_specs(obj: Obj) -> list[tuple[str, Obj]]:
    """(field path, RayClusterSpec) inside a RayCluster, RayService or RayJob."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "RayCluster":
        return [("spec", spec)]
    if kind == "RayService" and spec.get("rayClusterConfig"):
        return [("spec.rayClusterConfig", spec["rayClusterConfig"])]
    if kind == "RayJob" and spec.get("rayClusterSpec"):
        return [("spec.rayClusterSpec", spec["rayClusterSpec"])]
    return []
