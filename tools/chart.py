"""The Helm chart and the names the repository deploys under, shared by the
generator (tools.generate, ``make manifests``) and the checker (tools.manifests):
where things are, versions.env and names.env, the chart's values, and the chart
rendered without a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# One Kubernetes object, as parsed from YAML.
Obj = dict[str, Any]

REPO_ROOT = Path(__file__).resolve().parents[1]
CHART_DIR = REPO_ROOT / "helm" / "ray101"
K8S_DIR = REPO_ROOT / "k8s"


def read_env(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of versions.env or names.env (comments and blanks skipped)."""
    result = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            result[key.strip()] = value.strip().strip('"')
    return result


# The release and namespace of names.env, the one place the deployment's names live.
NAMES = read_env(REPO_ROOT / "names.env")
RELEASE = NAMES["RELEASE"]
NAMESPACE = NAMES["NAMESPACE"]


def versions() -> dict[str, str]:
    """versions.env, the one place versions live."""
    return read_env(REPO_ROOT / "versions.env")


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_documents(text: str) -> list[Obj]:
    return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc]


# Rendered without a cluster, the chart refuses to draw passwords (they would
# change on every render): these stand in, as a GitOps setup gives its own.
# The same fake password the checker's kustomize copies get.
FAKE_PASSWORD = "notARealPassword0"
OFFLINE_VALUES: dict[str, Any] = {
    "mongodb": {"auth": {"password": FAKE_PASSWORD, "appPassword": "notARealAppPassword0"}},
    "seaweedfs": {"auth": {"rootPassword": FAKE_PASSWORD, "tunePassword": "notARealTunePassword0"}},
    "ha": {"redis": {"auth": {"password": FAKE_PASSWORD}}},
}


def merged(base: dict[str, Any], over: dict[str, Any] | None) -> dict[str, Any]:
    """``over`` on top of ``base``, maps merged key by key as Helm merges values."""
    out = dict(base)
    for key, value in (over or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def load_values(values_file: str | None, chart_dir: Path = CHART_DIR) -> dict[str, Any] | None:
    """A values file of the chart (relative to it); None for the chart's defaults."""
    if values_file is None:
        return None
    return yaml.load((chart_dir / values_file).read_text(), Loader=_Loader) or {}


def is_test_hook(obj: Obj) -> bool:
    """A `helm test` hook: run on demand, not deployed. The one-off Jobs are
    install and upgrade hooks, deployed with the release, and stay objects."""
    hook = ((obj.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "")
    return "test" in hook.split(",")


def render(
    values: dict[str, Any] | None = None,
    *,
    chart_dir: Path = CHART_DIR,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    offline: bool = True,
) -> tuple[list[Obj], list[Obj]]:
    """`helm template` through Helm 4's engine: (the objects, the `helm test`
    hooks), with OFFLINE_VALUES under ``values`` unless ``offline`` is False;
    raises helm_python errors on failure."""
    import helm_python

    if offline:
        values = merged(OFFLINE_VALUES, values)
    with helm_python.Chart.load(chart_dir) as chart:
        manifests = chart.render(values, name=release, namespace=namespace, is_install=True)
    objects, hooks = [], []
    for path in sorted(manifests):
        if path.endswith("NOTES.txt"):
            continue
        for obj in parse_documents(manifests[path]):
            (hooks if is_test_hook(obj) else objects).append(obj)
    return objects, hooks
