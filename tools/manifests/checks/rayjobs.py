"""The RayJobs on the shared cluster: one per registry workload running its module,
the fields KubeRay refuses or ignores, a driver bounded by its deadline, and
bounded submitter waits and deadlines that never let a Ray job start too late."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import yaml

from tools.manifests.checks.context import Context, Expect
from tools.manifests.checks.lookups import dig, driver_timeout, parse_entrypoint, split_timeout
from tools.manifests.model import Obj, Problem, Rendered


def check_rayjobs(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """One RayJob per registry workload, each `python -m <its module>` on the shared cluster."""
    clusters = {o["metadata"]["name"] for o in r.of_kind("RayCluster")}
    cluster = next(iter(sorted(clusters)), "ray101")
    found = {}
    for obj in r.of_kind("RayJob"):
        name = obj["metadata"]["name"]
        spec = obj.get("spec") or {}
        workload = name.removeprefix(f"{cluster}-")
        found[workload] = obj
        parsed = parse_entrypoint(spec.get("entrypoint", ""))
        if parsed is None:
            yield r.problem(
                obj,
                "spec.entrypoint",
                f"{spec.get('entrypoint')!r} is not `python -m <module> ...`",
            )
        elif workload in ctx.rayjob_modules and parsed[0] != ctx.rayjob_modules[workload]:
            yield r.problem(
                obj,
                "spec.entrypoint",
                f"runs {parsed[0]}, but jobs/registry.py says workload {workload!r} is {ctx.rayjob_modules[workload]}",
            )
        elif workload not in ctx.rayjob_modules:
            yield r.problem(
                obj,
                "metadata.name",
                f"{workload!r} is not a RayJob workload in jobs/registry.py",
            )
        selected = (spec.get("clusterSelector") or {}).get("ray.io/cluster")
        if spec.get("rayClusterSpec") is None and selected not in clusters:
            yield r.problem(
                obj,
                "spec.clusterSelector",
                f"selects RayCluster {selected!r}, which is not rendered",
            )
        if spec.get("clusterSelector") and spec.get("shutdownAfterJobFinishes"):
            yield r.problem(
                obj,
                "spec.shutdownAfterJobFinishes",
                "would delete the shared RayCluster after the job",
            )
        # What KubeRay's RayJob validation refuses or silently ignores.
        mode = spec.get("submissionMode", "K8sJobMode")
        if spec.get("clusterSelector") and mode == "SidecarMode":
            yield r.problem(
                obj, "spec.submissionMode", "KubeRay refuses clusterSelector in SidecarMode"
            )
        if spec.get("clusterSelector") and spec.get("suspend"):
            yield r.problem(
                obj, "spec.suspend", "a RayJob with clusterSelector cannot be suspended"
            )
        if spec.get("submitterPodTemplate") and mode != "K8sJobMode":
            yield r.problem(
                obj,
                "spec.submitterPodTemplate",
                f"only K8sJobMode runs a submitter pod, not {mode}",
            )
        if spec.get("ttlSecondsAfterFinished") and not spec.get("shutdownAfterJobFinishes"):
            yield r.problem(
                obj,
                "spec.ttlSecondsAfterFinished",
                "does nothing without shutdownAfterJobFinishes",
            )
        if (
            not isinstance(spec.get("activeDeadlineSeconds"), int)
            or spec["activeDeadlineSeconds"] <= 0
        ):
            yield r.problem(obj, "spec.activeDeadlineSeconds", "a RayJob needs a deadline")
        elif spec.get("clusterSelector"):
            # With clusterSelector, KubeRay 1.7.0 marks a RayJob past its deadline
            # Failed but never stops its Ray job (StopJob runs only from the
            # deletion finalizer): the driver must stop itself by then.
            limit = driver_timeout(spec.get("entrypoint", ""))
            if limit is None or limit > spec["activeDeadlineSeconds"]:
                yield r.problem(
                    obj,
                    "spec.entrypoint",
                    f"must run under `timeout {spec['activeDeadlineSeconds']}`: KubeRay marks a "
                    "RayJob on a selected cluster failed at its deadline but leaves its Ray job running",
                )
        if spec.get("runtimeEnvYAML") is not None:
            try:
                env = yaml.safe_load(spec["runtimeEnvYAML"]) or {}
            except yaml.YAMLError:
                env = None
            if not isinstance(env, dict):
                yield r.problem(obj, "spec.runtimeEnvYAML", "is not a YAML mapping")
    if expect.all_parts:
        for workload in sorted(set(ctx.rayjob_modules) - set(found)):
            yield r.problem(
                None,
                "",
                f"no RayJob {cluster}-{workload} for workload {workload!r} (jobs/registry.py)",
            )


# Ray's job API fails a job still PENDING after this long (RAY_JOB_START_TIMEOUT_SECONDS).
RAY_JOB_START_TIMEOUT_DEFAULT = 900
# After the driver's `timeout` has ended it: the SIGKILL grace (--kill-after)
# is in the entrypoint; the submitter then reads the end of the logs.
SUBMITTER_TAIL_S = 60
# KubeRay's submitter Job retries a failed pod this often unless told otherwise.
SUBMITTER_BACKOFF_DEFAULT = 2


def _kill_after(entrypoint: str) -> float:
    match = re.search(r"--kill-after[= ](\d+)", entrypoint)
    return float(match[1]) if match else 0.0


def _head_env(cluster: Obj | None, name: str) -> str | None:
    head = dig(cluster or {}, "spec.headGroupSpec.template.spec.containers") or [{}]
    for env in head[0].get("env") or []:
        if env.get("name") == name and "value" in env:
            return str(env["value"])
    return None


def _custom_resources(params: Obj) -> dict[str, float]:
    """The `resources` rayStartParam of a group, as KubeRay parses it (quotes trimmed)."""
    text = str(params.get("resources") or "").strip("'\"` ")
    try:
        parsed = json.loads(text.replace('\\"', '"')) if text else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def check_rayjob_deadlines(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """A RayJob on a selected cluster can never start its Ray job after it is
    Failed: each wait of the submitter pod is bounded (`timeout N`), the pod
    has an activeDeadlineSeconds covering its waits, Ray's PENDING time
    (RAY_JOB_START_TIMEOUT_SECONDS), the driver's `timeout` and the log tail,
    and the RayJob's own deadline, counted from before the cluster is ready
    (preRunningDeadlineSeconds), covers every submitter pod KubeRay may
    start. KubeRay lets all of these through: in clusterSelector mode it
    neither stops the submitter nor deletes its Job once the RayJob is over.
    The entrypoint's custom resources are ones the selected cluster's head offers."""
    clusters = {o["metadata"]["name"]: o for o in r.of_kind("RayCluster")}
    for obj in r.of_kind("RayJob"):
        spec = obj.get("spec") or {}
        cluster = clusters.get((spec.get("clusterSelector") or {}).get("ray.io/cluster", ""))
        if not spec.get("clusterSelector"):
            continue
        pod = dig(spec, "submitterPodTemplate.spec") or {}
        waits = 0.0
        for i, c in enumerate(pod.get("initContainers") or []):
            argv = [*(c.get("command") or []), *(c.get("args") or [])]
            seconds = split_timeout(argv)[0]
            if seconds is None:
                yield r.problem(
                    obj,
                    f"spec.submitterPodTemplate.spec.initContainers[{i}].command",
                    "an unbounded wait: run it under `timeout N`, or the pod may submit "
                    "after the RayJob has failed",
                )
            else:
                waits += seconds
        run = driver_timeout(spec.get("entrypoint", ""))
        if run is None:
            continue  # check_rayjobs reports the missing driver timeout
        pending = float(
            _head_env(cluster, "RAY_JOB_START_TIMEOUT_SECONDS") or RAY_JOB_START_TIMEOUT_DEFAULT
        )
        needed = waits + pending + run + _kill_after(spec.get("entrypoint", "")) + SUBMITTER_TAIL_S
        pod_deadline = pod.get("activeDeadlineSeconds")
        if not isinstance(pod_deadline, int) or pod_deadline < needed:
            yield r.problem(
                obj,
                "spec.submitterPodTemplate.spec.activeDeadlineSeconds",
                f"{pod_deadline}: the submitter pod needs a deadline of at least {needed:.0f} s "
                "(its waits, Ray's PENDING time, the driver's timeout and the log tail)",
            )
            continue
        start = spec.get("preRunningDeadlineSeconds")
        if not isinstance(start, int):
            yield r.problem(
                obj,
                "spec.preRunningDeadlineSeconds",
                "no bound on cluster start-up: a cold cluster uses up activeDeadlineSeconds "
                "before anything is submitted",
            )
            continue
        backoff = dig(spec, "submitterConfig.backoffLimit", SUBMITTER_BACKOFF_DEFAULT)
        total = start + (backoff + 1) * pod_deadline
        if spec.get("activeDeadlineSeconds", 0) < total:
            yield r.problem(
                obj,
                "spec.activeDeadlineSeconds",
                f"{spec.get('activeDeadlineSeconds')}: shorter than start-up and {backoff + 1} "
                f"submitter pods ({total} s): the RayJob may be Failed while a pod still submits",
            )
        wanted = spec.get("entrypointResources")
        if wanted and cluster is not None:
            try:
                asked = json.loads(wanted)
            except ValueError:
                yield r.problem(obj, "spec.entrypointResources", f"{wanted!r} is not JSON")
                continue
            offered = _custom_resources(dig(cluster, "spec.headGroupSpec.rayStartParams") or {})
            for name, amount in asked.items():
                if offered.get(name, 0) < amount:
                    yield r.problem(
                        obj,
                        "spec.entrypointResources",
                        f"{name}: {amount} asked, the head of {cluster['metadata']['name']} "
                        f"offers {offered.get(name, 0)}: the job would stay PENDING",
                    )
