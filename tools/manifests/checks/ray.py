"""KubeRay objects: the head and worker groups, the GPU group, the RayJobs on the shared cluster, Tune's storage and the Serve config."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import yaml

from tools.manifests.checks.context import Context, Expect
from tools.manifests.checks.lookups import (
    HEAD_PORTS,
    SERVE_PORT,
    bucket_created,
    container_ports,
    dig,
    driver_timeout,
    gpus_of,
    parse_entrypoint,
    runtime_env_vars,
    split_timeout,
)
from tools.manifests.model import (
    Obj,
    Problem,
    Rendered,
    containers,
    pod_templates,
    ray_cluster_specs,
)


def check_ray_clusters(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Head without CPUs for tasks, the documented ports, token auth, autoscaling;
    a standalone RayCluster recreates its pods on a spec change (without it the
    head and running workers keep the old image and Ray version while new
    autoscaled workers get the new one), which only it may set."""
    for obj in r.all_objects():
        if obj.get("kind") in ("RayCluster", "RayService"):
            for tpl in pod_templates(obj):
                memory = {
                    v.get("name")
                    for v in tpl.spec.get("volumes") or []
                    if dig(v, "emptyDir.medium") == "Memory"
                }
                mounts = {
                    m.get("name")
                    for m in (tpl.spec.get("containers") or [{}])[0].get("volumeMounts") or []
                    if m.get("mountPath") == "/dev/shm"
                }
                if not memory & mounts:
                    yield r.problem(
                        obj,
                        f"{tpl.path}.spec.volumes",
                        "no in-memory emptyDir at /dev/shm: Ray's object store would fall back to disk",
                    )
        if obj.get("kind") == "RayCluster" and dig(obj, "spec.upgradeStrategy.type") != "Recreate":
            yield r.problem(
                obj,
                "spec.upgradeStrategy.type",
                "must be Recreate: otherwise an upgrade leaves the head and running workers on the old spec",
            )
        for path, spec in ray_cluster_specs(obj):
            head = spec.get("headGroupSpec") or {}
            if str((head.get("rayStartParams") or {}).get("num-cpus")) != "0":
                yield r.problem(
                    obj,
                    f"{path}.headGroupSpec.rayStartParams.num-cpus",
                    'the head must set num-cpus: "0"',
                )
            head_containers = dig(head, "template.spec.containers") or [{}]
            ports = {
                p.get("name"): p.get("containerPort") for p in head_containers[0].get("ports") or []
            }
            for name, number in HEAD_PORTS.items():
                if ports.get(name) != number:
                    yield r.problem(
                        obj,
                        f"{path}.headGroupSpec.template.spec.containers[0].ports",
                        f"port {name!r} must be {number} (got {ports.get(name)})",
                    )
            if dig(spec, "authOptions.mode") != "token":
                yield r.problem(obj, f"{path}.authOptions.mode", "Ray token authentication is off")
            if spec.get("enableInTreeAutoscaling") is not True:
                yield r.problem(obj, f"{path}.enableInTreeAutoscaling", "the autoscaler is off")
            for i, group in enumerate(spec.get("workerGroupSpecs") or []):
                lo, n, hi = (
                    group.get("minReplicas", 0),
                    group.get("replicas", 0),
                    group.get("maxReplicas", 0),
                )
                if not lo <= n <= hi:
                    yield r.problem(
                        obj,
                        f"{path}.workerGroupSpecs[{i}].replicas",
                        f"group {group.get('groupName')!r}: needs minReplicas <= replicas <= maxReplicas ({lo}, {n}, {hi})",
                    )


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


def check_tune_storage(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """The tune job writes where every node can reach: an S3/GCS bucket (SeaweedFS's on kind)."""
    job = next((o for o in r.of_kind("RayJob") if o["metadata"]["name"].endswith("-tune")), None)
    if job is None:
        return
    env = runtime_env_vars(job)
    where = "spec.runtimeEnvYAML.env_vars.RAY101_STORAGE_PATH"
    path = env.get("RAY101_STORAGE_PATH", "")
    if not re.match(r"^(s3|gs)://[^/]+", path):
        yield r.problem(
            job,
            where,
            f"{path!r}: a multi-node Tune run needs a bucket every node reaches (s3:// or gs://)",
        )
        return
    endpoint = env.get("AWS_ENDPOINT_URL")
    if endpoint:
        # The bucket must be the one the bucket Job creates.
        buckets = {
            bucket_created(c)
            for o in r.of_kind("Job")
            for t in pod_templates(o)
            for _, c in containers(t)
        } - {None}
        bucket = urlsplit(path).netloc
        if bucket not in buckets:
            yield r.problem(
                job,
                where,
                f"bucket {bucket!r} is not the one the bucket Job creates ({sorted(buckets)})",
            )
        cluster = next(iter(r.of_kind("RayCluster")), None)
        names = {
            e.get("name")
            for t in pod_templates(cluster or {})
            for _, c in containers(t)
            for e in c.get("env") or []
        }
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            if key not in names and key not in env:
                yield r.problem(
                    cluster or job,
                    "spec",
                    f"{key} is set nowhere, so Tune cannot write to {endpoint}",
                )


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


def _cpu_mem(resources: Obj, section: str) -> tuple[str, str]:
    values = (resources or {}).get(section) or {}
    return str(values.get("cpu")), str(values.get("memory"))


def check_ray_qos(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Off kind, every container of a Ray pod (and the autoscaler sidecar
    KubeRay adds to the head) requests what it may use, so the pod is
    Guaranteed: KubeRay hands the limits to Ray as --num-cpus/--memory, and a
    Burstable head, the GCS, would be among the first pods a node evicts.
    kind relaxes it on purpose; manifests given on the command line are not held to it."""
    if expect.kind_cluster or not expect.all_parts:
        return
    for obj in r.all_objects():
        for path, spec in ray_cluster_specs(obj):
            sidecar = dig(spec, "autoscalerOptions.resources")
            if (
                spec.get("enableInTreeAutoscaling")
                and sidecar is not None
                and _cpu_mem(sidecar, "requests") != _cpu_mem(sidecar, "limits")
            ):
                yield r.problem(
                    obj,
                    f"{path}.autoscalerOptions.resources",
                    "requests below limits: the head pod would not be Guaranteed",
                )
        if obj.get("kind") not in ("RayCluster", "RayService"):
            continue
        for tpl in pod_templates(obj):
            for field, c in containers(tpl):
                res = c.get("resources") or {}
                if _cpu_mem(res, "requests") != _cpu_mem(res, "limits"):
                    yield r.problem(
                        obj,
                        f"{field}.resources",
                        f"requests {_cpu_mem(res, 'requests')} below limits "
                        f"{_cpu_mem(res, 'limits')}: a Burstable Ray pod, evicted early",
                    )
