"""The kustomize tree k8s/, from the chart (everything in it but the hand-written
components/without-mongodb and the READMEs):

- base/: the chart rendered with its default values, one resource per file,
  and a kustomization listing them. The Secrets stay kustomize's own
  (secretGenerator from the git-ignored secret.env files);
- overlays/<profile>/ for each values-<profile>.yaml (kind, gpu): the base
  plus what those values change, as JSON patches and an ``images:`` entry;
- components/mongodb-standin/: what scripts/kind/values-mongodb-standin.yaml
  changes on the kind overlay (the nx-27017 stand-in instead of mongod, and a
  MONGODB_URI without credentials merged into the Secret), as a Component;
- components/monitoring/: what ``monitoring.enabled`` adds (PodMonitors, the
  Grafana dashboard ConfigMaps, the heads' Grafana and Prometheus variables),
  as a kustomize Component on top of the base, and overlays/monitoring/: the
  base with it.

Each overlay and component is the difference of two renderings of the chart,
applied back to the first as kustomize would before it is written
(tools.generate.patches): a difference it cannot express stops the generator.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

from tools import chart
from tools.chart import Obj
from tools.generate import patches
from tools.generate.output import HEADER, dump
from tools.generate.values import PROFILES

# Written by the chart for Helm alone; kustomize has no releases or hooks.
HELM_ONLY_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")
HELM_ONLY_ANNOTATIONS = (
    "helm.sh/resource-policy",
    "helm.sh/hook",
    "helm.sh/hook-delete-policy",
    "helm.sh/hook-weight",
)
MANAGED_BY = {"app.kubernetes.io/managed-by": "kustomize"}
# What the base rendering turns on: the Namespace, which Helm leaves to --create-namespace.
BASE_VALUES: dict[str, Any] = {"namespace": {"create": True}}
# Each generated Secret comes from secret.env beside its example.
SECRET_DIRS = {"ray101-mongodb": "mongodb", "ray101-seaweedfs": "seaweedfs"}
# The base's values with monitoring on: components/monitoring is the difference.
MONITORING_VALUES = "ci/values-monitoring.yaml"
# The kind path's MongoDB stand-in (a values override of scripts/, not a
# profile of the chart): a Component on top of overlays/kind. The one Secret
# key it changes is `uri`, merged into the generated Secret; the keys the
# stand-in has no use for (the users' passwords) stay there, unread.
STANDIN_VALUES = "scripts/kind/values-mongodb-standin.yaml"
STANDIN_SECRET_KEYS = {"ray101-mongodb": {"uri"}}
# The folders of k8s/ this writes whole (a YAML file there it does not write is stale).
GENERATED_DIRS = (
    "base",
    *(f"overlays/{profile}" for profile in PROFILES),
    "components/monitoring",
    "components/mongodb-standin",
    "overlays/monitoring",
)
KUSTOMIZATION = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
COMPONENT = {"apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component"}


def _strip_helm(meta: Obj, keep: tuple[str, ...] = ()) -> None:
    labels = meta.get("labels") or {}
    for key in HELM_ONLY_LABELS:
        if key not in keep:
            labels.pop(key, None)
    annotations = meta.get("annotations") or {}
    for key in HELM_ONLY_ANNOTATIONS:
        annotations.pop(key, None)
    if "annotations" in meta and not annotations:
        del meta["annotations"]


def for_kustomize(obj: Obj) -> Obj:
    """An object of the chart as the base holds it: without Helm's own metadata
    (the base's kustomization labels it managed-by kustomize) and without a
    namespace (the kustomization sets it, so an overlay can change it)."""
    obj = copy.deepcopy(obj)
    obj["metadata"].pop("namespace", None)
    _strip_helm(obj["metadata"])
    return obj


def for_layer(obj: Obj) -> Obj:
    """An object an overlay or component adds: without Helm's own metadata,
    labelled managed-by kustomize itself, in the chart's namespace (no
    kustomization above it sets one; an overlay's ``namespace:`` still may)."""
    obj = copy.deepcopy(obj)
    labels = obj["metadata"].setdefault("labels", {})
    labels.update(MANAGED_BY)  # in the place of Helm's
    _strip_helm(obj["metadata"], keep=tuple(MANAGED_BY))
    return obj


def base_file(obj: Obj) -> str:
    """Where an object goes: <component>/<kind>[-<rest of the name>].yaml."""
    kind, name = obj["kind"].lower(), obj["metadata"]["name"]
    component = obj["metadata"].get("labels", {}).get("app.kubernetes.io/component", "")
    if kind == "namespace":
        return "namespace.yaml"
    rest = name.removeprefix(chart.RELEASE).lstrip("-")
    rest = rest.removeprefix(component).lstrip("-")
    return f"{component}/{kind}{'-' + rest if rest else ''}.yaml"


def _ident(obj: Obj) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def _render(chart_dir: Path, *values_files: str) -> list[Obj]:
    """The objects the chart deploys with BASE_VALUES and ``values_files`` on
    top (relative to the chart), in order."""
    values = BASE_VALUES
    for values_file in values_files:
        values = chart.merged(values, chart.load_values(values_file, chart_dir))
    objects, _ = chart.render(values, chart_dir=chart_dir)
    return objects


def base_files(objects: list[Obj]) -> dict[str, str]:
    """Path under k8s/base -> its text."""
    header = HEADER.format(source="helm/ray101")
    files: dict[str, str] = {}
    secrets = []
    for obj in map(for_kustomize, objects):
        if obj["kind"] == "Secret":
            secrets.append(obj["metadata"])
            continue
        path = base_file(obj)
        if path in files:
            raise SystemExit(f"error: two objects of the chart map to k8s/base/{path}")
        files[path] = header + dump(obj)
    unknown = sorted({m["name"] for m in secrets} - set(SECRET_DIRS))
    if unknown:
        raise SystemExit(f"error: no secret.env known for the chart's Secret(s) {unknown}")
    kustomization: dict[str, Any] = {
        **KUSTOMIZATION,
        "namespace": chart.NAMESPACE,
        "labels": [{"pairs": MANAGED_BY, "includeSelectors": False, "includeTemplates": False}],
        "resources": sorted(files, key=lambda p: (p != "namespace.yaml", p)),
        "secretGenerator": [
            {
                "name": meta["name"],
                "envs": [f"{SECRET_DIRS[meta['name']]}/secret.env"],
                "type": "Opaque",
                # Ray pods (custom resources) name the Secret exactly; kustomize
                # rewrites generated names only in the kinds it knows.
                "options": {"disableNameSuffixHash": True, "labels": meta.get("labels") or {}},
            }
            for meta in sorted(secrets, key=lambda m: m["name"])
        ],
    }
    files["kustomization.yaml"] = header + dump(kustomization)
    return files


def _target(obj: Obj) -> dict[str, str]:
    group, _, _ = obj["apiVersion"].rpartition("/")
    return {
        **({"group": group} if group else {}),
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
    }


def _secret_merges(
    before: dict, after: dict, *, where: str, source: str, mergeable: dict[str, set[str]]
) -> list[dict[str, Any]]:
    """The secretGenerator merges that give the generated Secrets the values
    ``after`` has; only the keys ``mergeable`` names may change (the others
    come from secret.env, never from the chart)."""
    merges = []
    for key in sorted(k for k in before.keys() | after.keys() if k[0] == "Secret"):
        old, new = (before.get(key) or {}).get("data"), (after.get(key) or {}).get("data")
        if old == new:
            continue
        changed = sorted(k for k in (new or {}) if (old or {}).get(k) != new[k])
        if old is None or new is None or not set(changed) <= mergeable.get(key[1], set()):
            raise SystemExit(
                f"error: k8s/{where}: {source} changes Secret {key[1]} ({changed or 'all of it'}), "
                "which the base generates from secret.env"
            )
        literals = [f"{k}={base64.b64decode(new[k]).decode()}" for k in changed]
        merges.append(
            {
                "name": key[1],
                "behavior": "merge",
                "literals": literals,
                "options": {"disableNameSuffixHash": True},
            }
        )
    return merges


def layer_files(
    base: list[Obj],
    other: list[Obj],
    *,
    where: str,
    source: str,
    component: bool,
    secret_keys: dict[str, set[str]] | None = None,
) -> dict[str, str]:
    """Path under ``where`` (k8s/<overlay or component>) -> its text: a
    kustomization (a Component, or an overlay of ../../base) turning the base's
    objects into ``other``'s: the objects ``other`` adds, one per file,
    ``$patch: delete`` for those it leaves out, the image names it changes
    as ``images:``, the Secret keys ``secret_keys`` allows as generator
    merges, and JSON patches for the rest."""
    before = {_ident(o): for_kustomize(o) for o in base}
    after = {_ident(o): for_kustomize(o) for o in other}
    merges = _secret_merges(before, after, where=where, source=source, mergeable=secret_keys or {})
    files: dict[str, str] = {}
    header = HEADER.format(source=source)
    images: dict[str, str] = {}
    operations: dict[tuple[str, str], list[patches.Op]] = {}
    entries: list[dict[str, Any]] = []
    for obj in other:
        key = _ident(obj)
        if key[0] == "Secret":  # generated from secret.env; the merges above say what changes
            continue
        if key not in before:
            # <kind>-<name>.yaml: every object added here is this layer's.
            path = base_file(obj).rpartition("/")[2]
            if path in files:
                raise SystemExit(f"error: two objects of the chart map to k8s/{where}/{path}")
            files[path] = header + dump(for_layer(obj))
            continue
        ops = []
        for change in patches.changes(before[key], after[key]):
            renamed = patches.renamed_image(change)
            if renamed and images.setdefault(*renamed) == renamed[1]:
                continue
            ops.append(change.operation())
        if ops:
            operations[key] = ops
            entries.append({"target": _target(obj), "patch": dump(ops)})
    for key, obj in before.items():
        if key not in after:
            gone = {"apiVersion": obj["apiVersion"], "kind": key[0], "metadata": {"name": key[1]}}
            entries.append({"patch": dump({"$patch": "delete", **gone})})
    # What kustomize will build is what the chart renders, object by object.
    for key, obj in after.items():
        start = before.get(key, obj)
        if key[0] != "Secret" and patches.apply(start, operations.get(key, []), images) != obj:
            raise SystemExit(
                f"error: k8s/{where}: cannot express what {source} gives {key[0]} {key[1]} "
                f"as patches of the base (images renamed: {images})"
            )
    kustomization: dict[str, Any] = {**(COMPONENT if component else KUSTOMIZATION)}
    resources = [*([] if component else ["../../base"]), *sorted(files)]
    if resources:
        kustomization["resources"] = resources
    if images:
        kustomization["images"] = [{"name": a, "newName": b} for a, b in sorted(images.items())]
    if merges:
        kustomization["secretGenerator"] = merges
    if entries:
        kustomization["patches"] = entries
    files["kustomization.yaml"] = header + dump(kustomization)
    return files


def tree(chart_dir: Path = chart.CHART_DIR) -> dict[str, str]:
    """Path under k8s/ -> its text, for every file of GENERATED_DIRS."""
    base = _render(chart_dir)
    files = {f"base/{path}": text for path, text in base_files(base).items()}
    rendered = {}
    for profile in PROFILES:
        where = f"overlays/{profile}"
        source = f"helm/ray101/values-{profile}.yaml"
        other = rendered[profile] = _render(chart_dir, f"values-{profile}.yaml")
        for path, text in layer_files(
            base, other, where=where, source=source, component=False
        ).items():
            files[f"{where}/{path}"] = text
    # An absolute path: the chart may be rendered from a copy.
    standin = _render(chart_dir, "values-kind.yaml", str(chart.REPO_ROOT / STANDIN_VALUES))
    for path, text in layer_files(
        rendered["kind"],
        standin,
        where="components/mongodb-standin",
        source=STANDIN_VALUES,
        component=True,
        secret_keys=STANDIN_SECRET_KEYS,
    ).items():
        files[f"components/mongodb-standin/{path}"] = text
    monitored = _render(chart_dir, MONITORING_VALUES)
    source = "helm/ray101 (monitoring.enabled)"
    for path, text in layer_files(
        base, monitored, where="components/monitoring", source=source, component=True
    ).items():
        files[f"components/monitoring/{path}"] = text
    overlay = {
        **KUSTOMIZATION,
        "resources": ["../../base"],
        "components": ["../../components/monitoring"],
    }
    files["overlays/monitoring/kustomization.yaml"] = HEADER.format(source=source) + dump(overlay)
    return files
