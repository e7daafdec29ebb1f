"""What the checks know besides the objects: versions, the registry's workloads, and what each rendering is meant to contain."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Expect:
    """What a rendering is meant to contain."""

    # GPU worker group: "none", "scale-from-zero" (replicas 0), "always-on" (>= 1)
    # or "any" (manifests a user gives: no promise to keep).
    gpu: str
    # Images come from `kind load docker-image`: pull policy must not be Always.
    kind_cluster: bool = False
    # Every part switched on: one RayJob per registry workload, MongoDB, SeaweedFS, echo.
    all_parts: bool = True
    # Every optional part on too: monitoring, GCS fault tolerance, Ingress, HTTPRoutes.
    every_option: bool = False


EXPECT: dict[str, Expect] = {
    "helm:default": Expect(gpu="scale-from-zero"),
    "helm:kind": Expect(gpu="none", kind_cluster=True),
    "helm:gpu": Expect(gpu="always-on"),
    "helm:all-parts": Expect(gpu="scale-from-zero", every_option=True),
    "kustomize:kind": Expect(gpu="none", kind_cluster=True),
    "kustomize:gpu": Expect(gpu="always-on"),
    "helm:monitoring": Expect(gpu="scale-from-zero"),
    "kustomize:monitoring": Expect(gpu="scale-from-zero"),
}


@dataclass(frozen=True)
class Context:
    versions: dict[str, str]
    # workload name -> module, for workloads that run as RayJobs (jobs/registry.py)
    rayjob_modules: dict[str, str]


def load_context(versions: dict[str, str]) -> Context:
    from jobs import registry

    modules = {w.name: w.main_module for w in registry.WORKLOADS.values() if w.rayjob}
    return Context(versions, modules)
