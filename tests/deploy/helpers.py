"""Helpers of the deployment tests: find an object, copy a rendering with one
object changed, render the chart with some values, add up what a rendering's
pods request or are limited to at full scale."""

from __future__ import annotations

import base64
import copy

from tools.manifests import render
from tools.manifests.model import Problem, Rendered, pod_templates

SOURCES = [*render.CHART_VALUES, *render.OVERLAYS]


def _report(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


def _obj(r: Rendered, kind: str, name: str) -> dict:
    obj = r.find(kind, name)
    assert obj is not None, f"{r.source} renders no {kind}/{name}"
    return obj


def _mutated(r: Rendered, kind: str, name: str, change) -> Rendered:
    """A copy of a rendering with one object changed."""
    copied = copy.deepcopy(r)
    change(_obj(copied, kind, name))
    return copied


def _render(values: dict) -> Rendered:
    return render.render_chart("helm:test", values)


def _secret_uri(change):
    """A change to the `uri` key of the MongoDB Secret (base64 in data)."""

    def edit(secret):
        uri = base64.b64decode(secret["data"]["uri"]).decode()
        secret["data"]["uri"] = base64.b64encode(change(uri).encode()).decode()

    return edit


def _quantity(value) -> float:
    """A Kubernetes quantity in bytes or cores."""
    text = str(value)
    for suffix, factor in (("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30), ("m", 1e-3)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def _amount(containers: list[dict], section: str, resource: str) -> float:
    return sum(
        _quantity((c.get("resources", {}).get(section) or {}).get(resource, 0)) for c in containers
    )


def _full_scale(r: Rendered, section: str) -> dict[str, float]:
    """CPU and memory of every pod at once, each Ray worker group at maxReplicas,
    the autoscaler sidecars included; a pod counts the larger of its init
    containers and the sum of its containers, as the scheduler does."""
    total = {"cpu": 0.0, "memory": 0.0}
    for obj in r.all_objects():
        spec = obj.get("spec", {}).get("rayClusterConfig") or obj.get("spec", {})
        groups = {g["groupName"]: g["maxReplicas"] for g in spec.get("workerGroupSpecs") or []}
        for tpl in pod_templates(obj):
            count = groups.get(tpl.group, 1)
            for resource in total:
                pods = [
                    tpl.spec.get("containers") or [],
                    *([c] for c in tpl.spec.get("initContainers") or []),
                ]
                total[resource] += count * max(_amount(cs, section, resource) for cs in pods)
        if obj["kind"] in ("RayCluster", "RayService"):
            for resource in total:
                total[resource] += _quantity(
                    spec["autoscalerOptions"]["resources"][section][resource]
                )
    return total
