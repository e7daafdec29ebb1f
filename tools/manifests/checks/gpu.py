"""The GPU workers: requests equal to limits, the nvidia.com/gpu toleration, the
replica policy the rendering promises, and Tune trials that use a GPU kept up."""

from __future__ import annotations

from collections.abc import Iterator

from tools.manifests.checks.context import Context, Expect
from tools.manifests.checks.lookups import dig, gpus_of, parse_entrypoint
from tools.manifests.model import Problem, Rendered, containers, pod_templates


def check_gpu_group(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """GPU workers: limits, toleration and the replica policy the rendering promises."""
    cluster = next(iter(r.of_kind("RayCluster")), None)
    if cluster is None:
        if expect.all_parts:
            yield r.problem(None, "", "no RayCluster rendered")
        return
    groups = cluster["spec"].get("workerGroupSpecs") or []
    gpu_groups = [
        (i, g)
        for i, g in enumerate(groups)
        if any(gpus_of(c) for c in dig(g, "template.spec.containers") or [])
    ]
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                limits = dig(c, "resources.limits") or {}
                requests = dig(c, "resources.requests") or {}
                if "nvidia.com/gpu" in requests and str(requests["nvidia.com/gpu"]) != str(
                    limits.get("nvidia.com/gpu")
                ):
                    yield r.problem(
                        obj,
                        f"{path}.resources.limits.nvidia.com/gpu",
                        "GPU requests must equal limits",
                    )
                if gpus_of(c):
                    tolerated = any(
                        t.get("key") == "nvidia.com/gpu" for t in tpl.spec.get("tolerations") or []
                    )
                    if not tolerated:
                        yield r.problem(
                            obj,
                            f"{tpl.path}.spec.tolerations",
                            "GPU pods need the nvidia.com/gpu toleration",
                        )
    if expect.gpu == "none":
        for i, g in gpu_groups:
            yield r.problem(
                cluster,
                f"spec.workerGroupSpecs[{i}]",
                f"group {g.get('groupName')!r} asks for GPUs",
            )
        return
    if expect.gpu == "any":
        return
    if not gpu_groups:
        yield r.problem(
            cluster, "spec.workerGroupSpecs", "no worker group with nvidia.com/gpu limits"
        )
        return
    for i, g in gpu_groups:
        where = f"spec.workerGroupSpecs[{i}]"
        if expect.gpu == "scale-from-zero" and (
            g.get("replicas") != 0 or g.get("minReplicas") != 0
        ):
            yield r.problem(
                cluster,
                f"{where}.replicas",
                "the GPU group must start at 0 (replicas and minReplicas 0)",
            )
        if expect.gpu == "always-on" and (g.get("replicas", 0) < 1 or g.get("minReplicas", 0) < 1):
            yield r.problem(
                cluster, f"{where}.replicas", "the GPU group must keep at least one worker"
            )
        if g.get("maxReplicas", 0) < 1:
            yield r.problem(
                cluster, f"{where}.maxReplicas", "the GPU group can never start a worker"
            )


def check_tune_uses_the_gpus(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Where a GPU worker is kept up, Tune's trials ask for a GPU each: a GPU
    group no workload asks for would sit idle (Ray keeps CPU-only work off GPU
    nodes while CPU nodes have room)."""
    if expect.gpu != "always-on":
        return
    job = next((o for o in r.of_kind("RayJob") if o["metadata"]["name"].endswith("-tune")), None)
    parsed = parse_entrypoint(dig(job or {}, "spec.entrypoint") or "")
    args = parsed[1] if parsed else []
    gpus = args[args.index("--gpus-per-trial") + 1] if "--gpus-per-trial" in args[:-1] else "0"
    if job is not None and float(gpus) <= 0:
        yield r.problem(
            job, "spec.entrypoint", "the GPU path's Tune trials ask for no GPU (--gpus-per-trial)"
        )
