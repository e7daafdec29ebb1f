"""The chart and the kustomize overlay deploy the same objects: compared object
by object, spec included, after removing what only one tool writes (Helm's
own labels and annotations, the Namespace kustomize owns, the values of
Secrets that each path draws at random)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from tools.manifests.model import Obj, Problem, Rendered, ident

# What only Helm writes: kustomize labels managed-by itself and has no releases.
HELM_ONLY_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")
HELM_ONLY_ANNOTATION_PREFIX = "helm.sh/"


def normalized(obj: Obj) -> Obj:
    """``obj`` without the metadata one tool adds and the other does not."""
    obj = copy.deepcopy(obj)
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    for key in HELM_ONLY_LABELS:
        labels.pop(key, None)
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if not k.startswith(HELM_ONLY_ANNOTATION_PREFIX)
    }
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    if obj.get("kind") == "Secret":
        # Each path draws its own passwords: the keys must agree, not the values.
        obj["data"] = {key: "..." for key in {**obj.get("data", {}), **obj.get("stringData", {})}}
        obj.pop("stringData", None)
    return obj


def applied(r: Rendered) -> dict[tuple[str, str], Obj]:
    """What gets applied, by (kind, name). The Namespace is left out: Helm
    installs into a namespace it is given (--create-namespace)."""
    return {ident(o): normalized(o) for o in r.objects if o.get("kind") != "Namespace"}


def differences(a: Any, b: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(field path, value in a, value in b) wherever the two differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                yield where, a.get(key, "<absent>"), b.get(key, "<absent>")
            else:
                yield from differences(a[key], b[key], where)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from differences(x, y, f"{path}[{i}]")
    elif a != b:
        yield path, a, b


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def compare_helm_kustomize(helm: Rendered, kustomize: Rendered) -> Iterator[Problem]:
    """Every object the chart deploys, the overlay deploys identically, and no more."""
    label = f"{helm.source} vs {kustomize.source}"
    a, b = applied(helm), applied(kustomize)
    for kind, name in sorted(a.keys() - b.keys()):
        yield Problem(label, kind, name, "", f"only in {helm.source}")
    for kind, name in sorted(b.keys() - a.keys()):
        yield Problem(label, kind, name, "", f"only in {kustomize.source}")
    for key in sorted(a.keys() & b.keys()):
        for field, x, y in differences(a[key], b[key]):
            yield Problem(
                label, *key, field, f"{helm.source}: {_short(x)}, {kustomize.source}: {_short(y)}"
            )
