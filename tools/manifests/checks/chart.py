"""Versions the chart repeats equal versions.env."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml

from tools.manifests.model import (
    Problem,
)


def check_chart_versions(chart_dir: Path, versions: dict[str, str]) -> Iterator[Problem]:
    """Versions the chart repeats equal versions.env."""
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    values = yaml.safe_load((chart_dir / "values.yaml").read_text())
    label = "helm/ray101"
    wanted = {
        "Chart.yaml appVersion": (str(chart.get("appVersion")), versions["RAY101_VERSION"]),
        "values.yaml image.tag": (str(values["image"]["tag"]), versions["RAY101_VERSION"]),
        "values.yaml image.gpuTag": (
            str(values["image"]["gpuTag"]),
            f"{versions['RAY101_VERSION']}-gpu",
        ),
        "values.yaml ray.version": (str(values["ray"]["version"]), versions["RAY_VERSION"]),
        "values.yaml mongodb.image": (
            f"{values['mongodb']['image']['repository']}:{values['mongodb']['image']['tag']}",
            versions["MONGO_IMAGE"],
        ),
        "Chart.yaml annotations ray101/kuberay-version": (
            str((chart.get("annotations") or {}).get("ray101/kuberay-version")),
            versions["KUBERAY_VERSION"],
        ),
    }
    if "SEAWEEDFS_IMAGE" in versions:
        store = values["seaweedfs"]["image"]
        wanted["values.yaml seaweedfs.image"] = (
            f"{store['repository']}:{store['tag']}",
            versions["SEAWEEDFS_IMAGE"],
        )
    if "REDIS_IMAGE" in versions:
        redis = values["ha"]["redis"]["image"]
        wanted["values.yaml ha.redis.image"] = (
            f"{redis['repository']}:{redis['tag']}",
            versions["REDIS_IMAGE"],
        )
    for field, (have, want) in wanted.items():
        if have != want:
            yield Problem(label, "", "", field, f"{have!r} differs from versions.env ({want!r})")
