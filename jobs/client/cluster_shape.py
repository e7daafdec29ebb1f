"""The shape of the chart's RayCluster, read from its values: the node groups a
local cluster starts as raylets (``ray101 cluster up``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from jobs.runtime.errors import UsageError

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "helm" / "ray101"
DEFAULT_VALUES = "values-kind.yaml"


@dataclass(frozen=True)
class Group:
    """One node group of the RayCluster: how many raylets, and what each advertises."""

    name: str
    replicas: int
    cpus: int
    gpus: int = 0


def _cpu_count(quantity: Any) -> int:
    """A Kubernetes CPU quantity ("2", "500m", 4) as whole CPUs, rounded up as KubeRay does."""
    text = str(quantity)
    value = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    return max(1, math.ceil(value))


def merge_values(base: dict, override: dict) -> dict:
    """``override`` over ``base``, nested mappings merged as Helm merges values files."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def chart_values(values_file: str | None = DEFAULT_VALUES) -> dict[str, Any]:
    """The chart's values.yaml with ``values_file`` (a name in the chart or a path) over it."""
    base = CHART_DIR / "values.yaml"
    if not base.is_file():
        raise UsageError(f"the chart's values are missing ({base}); run from a ray101 checkout")
    values = yaml.safe_load(base.read_text()) or {}
    if values_file:
        path = Path(values_file)
        path = path if path.is_file() else CHART_DIR / values_file
        if not path.is_file():
            raise UsageError(f"values file {values_file!r} not found (nor in {CHART_DIR})")
        values = merge_values(values, yaml.safe_load(path.read_text()) or {})
    return values


def head_resources(values: dict[str, Any]) -> dict[str, int]:
    """The head's custom resources as the chart gives them: its driver slots, which
    every RayJob's entrypointResources asks one of."""
    return {"driver_slot": int(values["ray"]["head"]["driverSlots"])}


def groups_from_values(values: dict[str, Any]) -> list[Group]:
    """The worker groups the chart renders, as local raylets."""
    ray_values = values["ray"]
    cpu = ray_values["cpuWorkers"]
    groups = [Group("cpu", int(cpu["replicas"]), _cpu_count(cpu["resources"]["limits"]["cpu"]))]
    gpu = ray_values.get("gpuWorkers") or {}
    if gpu.get("enabled") and int(gpu.get("replicas", 0)) > 0:
        groups.append(
            Group(
                "gpu",
                int(gpu["replicas"]),
                _cpu_count(gpu["resources"]["limits"]["cpu"]),
                int(gpu.get("gpusPerWorker", 1)),
            )
        )
    return groups
