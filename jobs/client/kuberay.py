"""Reading a RayJob or RayService out of Kubernetes manifests, as KubeRay does.

A RayJob becomes a :class:`Submission` (:func:`from_rayjob`: its
``entrypoint``, ``runtimeEnvYAML``, ``metadata``, ``jobId`` and entrypoint
resources, as KubeRay's submitter passes them to ``ray job submit``); a
RayService becomes the Serve config KubeRay sends to the dashboard
(:func:`serve_config`).

The source is a YAML file (one document or many, as ``helm template`` or
``kubectl kustomize`` print them), ``-`` for stdin, or the chart's directory,
rendered here with Helm's engine (``helm-python-sdk``, a development
dependency) and the kind values.

Rendered without a cluster, the chart rightly refuses to draw passwords (each
render would draw new ones). Reading a RayJob or a RayService needs none, so
the chart is rendered as if every Secret it would create already existed
(:func:`stand_in_secrets`): no password, real or fake, is drawn or printed.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jobs.client.cluster_shape import merge_values
from jobs.runtime.errors import UsageError, first_line

RELEASE = "ray101"
NAMESPACE = "ray101"
CHART_VALUES = "values-kind.yaml"
# The checkout: a submitted job's working dir when its runtime env names none.
CHECKOUT = Path(__file__).resolve().parents[2]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse(text: str, where: str) -> list[dict[str, Any]]:
    try:
        return [d for d in yaml.load_all(text, Loader=_Loader) if isinstance(d, dict)]
    except yaml.YAMLError as exc:
        raise UsageError(f"{where} is not YAML: {first_line(exc)}") from None


# The name the stand-in Secrets get; it is never created anywhere.
STAND_IN_SECRET = "ray101-rendered-without-a-cluster"


def stand_in_secrets(defaults: Any, given: Any) -> dict[str, Any]:
    """An ``existingSecret`` for every block of the chart's ``defaults`` that has one
    and that ``given`` (the values used) leaves empty, as nested values to merge."""
    found: dict[str, Any] = {}
    if not isinstance(defaults, dict):
        return found
    given = given if isinstance(given, dict) else {}
    for key, value in defaults.items():
        if key == "existingSecret" and not given.get(key):
            found[key] = STAND_IN_SECRET
        elif isinstance(value, dict) and (inner := stand_in_secrets(value, given.get(key))):
            found[key] = inner
    return found


def _values(chart_dir: Path, values_file: str) -> dict[str, Any]:
    values_path = chart_dir / values_file
    values = yaml.load(values_path.read_text(), Loader=_Loader) if values_path.is_file() else None
    defaults = yaml.load((chart_dir / "values.yaml").read_text(), Loader=_Loader)
    given = merge_values(defaults or {}, values or {})
    return merge_values(values or {}, stand_in_secrets(defaults, given))


def render_chart(chart_dir: Path, values_file: str = CHART_VALUES) -> list[dict[str, Any]]:
    """``helm template ray101 CHART -n ray101 -f CHART/VALUES`` as documents, with
    :func:`stand_in_secrets`; UsageError (one line) when Helm cannot render it."""
    try:
        import helm_python
    except ImportError:
        raise UsageError(
            f"rendering {chart_dir} needs helm-python-sdk (pip install -e '.[dev]'); "
            "or pipe `helm template` into --from-manifest -"
        ) from None
    try:
        values = _values(chart_dir, values_file)
        with helm_python.Chart.load(chart_dir) as chart:
            rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    except (OSError, yaml.YAMLError, helm_python.HelmError) as exc:
        raise UsageError(f"cannot render the chart {chart_dir}: {first_line(exc)}") from None
    docs: list[dict[str, Any]] = []
    for path in sorted(rendered):
        if not path.endswith("NOTES.txt"):
            docs += parse(rendered[path], path)
    return docs


def load(source: str) -> list[dict[str, Any]]:
    """Every document of ``source``: a file, ``-`` (stdin) or a chart directory."""
    if source == "-":
        return parse(sys.stdin.read(), "stdin")
    path = Path(source)
    if path.is_dir() and (path / "Chart.yaml").is_file():
        return render_chart(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
    return parse(text, source)


def select(docs: list[dict[str, Any]], kind: str, name: str | None, source: str) -> dict[str, Any]:
    """The one ``kind`` object of ``docs`` (named ``name`` when there are several)."""
    found = [d for d in docs if d.get("kind") == kind]
    names = [str((d.get("metadata") or {}).get("name")) for d in found]
    if name is not None:
        found = [d for d, n in zip(found, names, strict=True) if n == name]
    if len(found) == 1:
        return found[0]
    if not found:
        which = f" named {name!r}" if name else ""
        known = f" (it has: {', '.join(names)})" if names else ""
        raise UsageError(f"{source} has no {kind}{which}{known}")
    raise UsageError(
        f"{source} has {len(found)} {kind}s; choose one with --name: {', '.join(names)}"
    )


def spec_of(obj: dict[str, Any], field: str, source: str) -> Any:
    spec = obj.get("spec") or {}
    if not spec.get(field):
        name = (obj.get("metadata") or {}).get("name")
        raise UsageError(f"{obj.get('kind')} {name} in {source} has no spec.{field}")
    return spec[field]


def name_of(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or obj.get("kind", "object").lower())


@dataclass
class Submission:
    """What ``JobSubmissionClient.submit_job`` is given."""

    entrypoint: str
    submission_id: str
    runtime_env: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    entrypoint_num_cpus: float | None = None
    entrypoint_num_gpus: float | None = None
    entrypoint_resources: dict[str, float] | None = None

    def with_overrides(self, env: dict[str, str], extra_args: Sequence[str]) -> Submission:
        if extra_args:
            self.entrypoint = f"{self.entrypoint} {shlex.join(extra_args)}"
        if env:
            self.runtime_env["env_vars"] = {**self.runtime_env.get("env_vars", {}), **env}
        self.runtime_env.setdefault("working_dir", str(CHECKOUT))
        return self


def new_submission_id(name: str) -> str:
    return f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def from_rayjob(obj: dict[str, Any], source: str) -> Submission:
    """A RayJob's spec as KubeRay's submitter passes it to ``ray job submit``."""
    spec = obj.get("spec") or {}
    entrypoint = spec_of(obj, "entrypoint", source)
    try:
        runtime_env = yaml.safe_load(spec.get("runtimeEnvYAML") or "") or {}
        resources = spec.get("entrypointResources")
        resources = json.loads(resources) if isinstance(resources, str) else resources
    except (yaml.YAMLError, ValueError) as exc:
        raise UsageError(f"{source}: bad runtimeEnvYAML or entrypointResources: {exc}") from None
    return Submission(
        entrypoint=entrypoint,
        submission_id=spec.get("jobId") or new_submission_id(name_of(obj)),
        runtime_env=runtime_env,
        metadata={str(k): str(v) for k, v in (spec.get("metadata") or {}).items()},
        entrypoint_num_cpus=spec.get("entrypointNumCpus"),
        entrypoint_num_gpus=spec.get("entrypointNumGpus"),
        entrypoint_resources=resources,
    )


def serve_config(obj: dict[str, Any], source: str, http_port: int) -> dict[str, Any]:
    """A RayService's ``serveConfigV2`` as KubeRay sends it to the dashboard, but
    served on 127.0.0.1:``http_port`` (the pod's host and port mean nothing here)."""
    text = spec_of(obj, "serveConfigV2", source)
    try:
        config = yaml.safe_load(text) if isinstance(text, str) else dict(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{source}: serveConfigV2 is not YAML: {exc}") from None
    if not isinstance(config, dict) or not config.get("applications"):
        raise UsageError(f"{source}: serveConfigV2 names no applications")
    config["http_options"] = {**(config.get("http_options") or {}), "host": "127.0.0.1"}
    config["http_options"]["port"] = http_port
    return config
