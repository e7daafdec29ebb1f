"""The echo RayService's Serve config: the application, route and port the project
documents, and the containerPort Serve listens on."""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from tools.manifests.checks.context import Context, Expect
from tools.manifests.checks.lookups import SERVE_PORT, container_ports, dig
from tools.manifests.model import Problem, Rendered, pod_templates


def check_serve_config(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """The echo RayService: the application, route and port the project documents."""
    services = r.of_kind("RayService")
    if expect.all_parts and not services:
        yield r.problem(None, "", "no RayService rendered")
    for obj in services:
        try:
            config = yaml.safe_load(dig(obj, "spec.serveConfigV2") or "")
        except yaml.YAMLError as exc:
            yield r.problem(obj, "spec.serveConfigV2", f"not YAML: {exc}")
            continue
        apps = (config or {}).get("applications") or []
        if not apps:
            yield r.problem(obj, "spec.serveConfigV2.applications", "no application")
            continue
        app = apps[0]
        wanted = {"name": "echo", "import_path": "jobs.echo:app", "route_prefix": "/"}
        for key, value in wanted.items():
            if app.get(key) != value:
                yield r.problem(
                    obj,
                    f"spec.serveConfigV2.applications[0].{key}",
                    f"{app.get(key)!r}, expected {value!r}",
                )
        port = ((config or {}).get("http_options") or {}).get("port", SERVE_PORT)
        if port != SERVE_PORT:
            yield r.problem(
                obj, "spec.serveConfigV2.http_options.port", f"{port}, expected {SERVE_PORT}"
            )
        for tpl in pod_templates(obj):
            ports = container_ports(tpl)
            if ports.get("serve") != port:
                yield r.problem(
                    obj,
                    f"{tpl.path}.spec.containers[0].ports",
                    f"no containerPort named 'serve' = {port} (Serve listens there; KubeRay's serve Service targets it)",
                )
