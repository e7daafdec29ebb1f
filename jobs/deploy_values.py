"""The Helm values that come from ``jobs/``: one RayJob per batch workload of
the registry, and the echo service's Serve config and environment.

``make manifests`` writes them into ``helm/ray101/values.yaml`` (and the kind
and GPU arguments into ``values-kind.yaml`` and ``values-gpu.yaml``); the chart renders the kustomize base from
those, so the registry and ``jobs.echo`` stay the only source.
"""

from __future__ import annotations

from typing import Any

from jobs import registry

PROFILES = ("cluster", "kind", "gpu")


def workloads(profile: str = "cluster") -> dict[str, dict[str, Any]]:
    """``jobs.workloads``: name -> what its RayJob runs, needs and may take."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
    return {
        w.name: {
            "enabled": True,
            "module": w.module,
            "args": list(w.args_for(profile)),
            "activeDeadlineSeconds": w.deadline_s,
            "needs": w.needs,
        }
        for w in registry.WORKLOADS.values()
        if w.rayjob
    }


def overrides(profile: str) -> dict[str, dict[str, Any]]:
    """What values-<profile>.yaml changes in ``jobs.workloads``: the arguments
    of the workloads that have their own for that profile."""
    cluster, other = workloads("cluster"), workloads(profile)
    return {
        name: {"args": other[name]["args"]}
        for name in other
        if other[name]["args"] != cluster[name]["args"]
    }


def echo_values() -> dict[str, Any]:
    """``echo.serveConfig`` (serveConfigV2) and ``echo.env`` (Serve's environment)."""
    from jobs import echo

    return {"serveConfig": echo.rayservice_serve_config(), "env": dict(echo.SERVE_ENV)}
