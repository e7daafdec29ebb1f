"""Checks for mistakes a schema lets through and a cluster would only reveal
at run time: missing requests/limits, root containers, unpinned or mismatched
images and Ray versions, RayJobs whose module does not import, a Serve
import_path that builds no application, a MongoDB URI pointing nowhere,
Service selectors and ports that match no pod, names over KubeRay's limit,
per-release labels where an upgrade cannot change them, and a Helm chart that
drifted from the kustomize overlay.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from tools.manifests.model import (
    Obj,
    PodTemplate,
    Problem,
    Rendered,
    containers,
    ident,
    namespace_of,
    pod_templates,
    ray_cluster_specs,
)
from tools.manifests.render import REPO_ROOT

# KubeRay derives Service and Pod names from these objects' names and refuses
# names over 47 characters (utils.MaxRayClusterNameLength and friends).
KUBERAY_NAME_LIMIT = 47
RAY_KINDS = ("RayCluster", "RayJob", "RayService")
STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
)
# The head Service KubeRay creates and the ports the project documents.
HEAD_PORTS = {"gcs-server": 6379, "dashboard": 8265, "client": 10001}
SERVE_PORT = 8000
PROJECT_IMAGE = "ray101"
MONGODB_CLIENT_LABEL = "ray101/mongodb-client"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class Expect:
    """What a rendering is meant to contain."""

    # GPU worker group: "none", "scale-from-zero" (replicas 0) or "always-on" (>= 1).
    gpu: str
    # Images come from `kind load docker-image`: pull policy must not be Always.
    kind_cluster: bool = False
    # Every part switched on: one RayJob per registry workload, MongoDB, MinIO, echo.
    all_parts: bool = True


EXPECT: dict[str, Expect] = {
    "helm:default": Expect(gpu="scale-from-zero"),
    "helm:kind": Expect(gpu="none", kind_cluster=True),
    "helm:gpu": Expect(gpu="always-on"),
    "kustomize:kind": Expect(gpu="none", kind_cluster=True),
    "kustomize:gpu": Expect(gpu="always-on"),
}


@dataclass(frozen=True)
class Context:
    versions: dict[str, str]
    # workload name -> module, for workloads that run as RayJobs (jobs/registry.py)
    rayjob_modules: dict[str, str]


def load_context(versions: dict[str, str]) -> Context:
    from jobs import registry

    modules = {w.name: w.module for w in registry.WORKLOADS.values() if w.rayjob}
    return Context(versions, modules)


# ---------------------------------------------------------------- lookups


def _get(obj: Obj, path: str, default=None):
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _selector_labels(selector: Obj | None) -> dict[str, str]:
    """matchLabels of a LabelSelector (matchExpressions are not used here)."""
    return dict((selector or {}).get("matchLabels") or {})


def _templates_in(r: Rendered, namespace: str | None) -> list[tuple[Obj, PodTemplate]]:
    return [
        (o, t) for o in r.all_objects() if namespace_of(o) == namespace for t in pod_templates(o)
    ]


def _image_parts(image: str) -> tuple[str, str, str]:
    """(repository, tag, digest) of an image reference."""
    ref, _, digest = image.partition("@")
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = ref.rpartition(":")
    else:
        repo, tag = ref, ""
    return repo, tag, digest


def _container_ports(tpl: PodTemplate) -> dict[str | int, int]:
    """name -> port and port -> port for every container port of a pod."""
    found: dict[str | int, int] = {}
    for _, c in containers(tpl):
        for p in c.get("ports") or []:
            found[p["containerPort"]] = p["containerPort"]
            if p.get("name"):
                found[p["name"]] = p["containerPort"]
    return found


def _gpus(container: Obj) -> int:
    limit = _get(container, "resources.limits", {}) or {}
    try:
        return int(str(limit.get("nvidia.com/gpu", 0)))
    except ValueError:
        return 0


# ---------------------------------------------------------------- per object


def check_resources(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """Every container has CPU and memory requests and limits."""
    problems = []
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                for section in ("requests", "limits"):
                    values = _get(c, f"resources.{section}") or {}
                    for resource in ("cpu", "memory"):
                        if resource not in values:
                            problems.append(
                                r.problem(
                                    obj,
                                    f"{path}.resources.{section}.{resource}",
                                    f"container {c.get('name')!r} has no {resource} {section[:-1]}",
                                )
                            )
        for path, spec in ray_cluster_specs(obj):
            if spec.get("enableInTreeAutoscaling"):
                res = _get(spec, "autoscalerOptions.resources") or {}
                for section in ("requests", "limits"):
                    for resource in ("cpu", "memory"):
                        if resource not in (res.get(section) or {}):
                            problems.append(
                                r.problem(
                                    obj,
                                    f"{path}.autoscalerOptions.resources.{section}.{resource}",
                                    f"the autoscaler sidecar has no {resource} {section[:-1]}",
                                )
                            )
    return problems


def _expected_uid(image: str) -> int | None:
    repo = _image_parts(image)[0].rsplit("/", 1)[-1]
    if repo in (PROJECT_IMAGE, "ray"):
        return 1000  # rayproject/ray's user "ray"
    if repo == "mongo":
        return 999  # the mongo image's user "mongodb"
    return None


def check_security(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """Every container runs as a non-root user without privilege escalation."""
    problems = []
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            pod_sc = tpl.spec.get("securityContext") or {}
            for path, c in containers(tpl):
                sc = c.get("securityContext") or {}
                name = c.get("name")
                non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
                uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
                if non_root is not True:
                    problems.append(
                        r.problem(
                            obj,
                            f"{path}.securityContext.runAsNonRoot",
                            f"container {name!r} may run as root",
                        )
                    )
                if uid == 0:
                    problems.append(
                        r.problem(
                            obj,
                            f"{path}.securityContext.runAsUser",
                            f"container {name!r} runs as uid 0",
                        )
                    )
                want = _expected_uid(c.get("image", ""))
                if want is not None and uid is not None and uid != want:
                    problems.append(
                        r.problem(
                            obj,
                            f"{path}.securityContext.runAsUser",
                            f"container {name!r} runs as uid {uid}, but {c.get('image')} runs as uid {want}",
                        )
                    )
                if sc.get("allowPrivilegeEscalation") is not False:
                    problems.append(
                        r.problem(
                            obj,
                            f"{path}.securityContext.allowPrivilegeEscalation",
                            f"container {name!r} does not set allowPrivilegeEscalation: false",
                        )
                    )
                if sc.get("privileged"):
                    problems.append(
                        r.problem(
                            obj,
                            f"{path}.securityContext.privileged",
                            f"container {name!r} is privileged",
                        )
                    )
        for path, spec in ray_cluster_specs(obj):
            if spec.get("enableInTreeAutoscaling"):
                sc = _get(spec, "autoscalerOptions.securityContext") or {}
                if (
                    sc.get("runAsNonRoot") is not True
                    or sc.get("allowPrivilegeEscalation") is not False
                ):
                    problems.append(
                        r.problem(
                            obj,
                            f"{path}.autoscalerOptions.securityContext",
                            "the autoscaler sidecar must set runAsNonRoot: true and allowPrivilegeEscalation: false",
                        )
                    )
    return problems


def check_images(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """Images are pinned; the project image carries the project version; the
    Ray version KubeRay is told is the one in the image."""
    v = ctx.versions
    problems = []
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                image = c.get("image", "")
                repo, tag, digest = _image_parts(image)
                short = repo.rsplit("/", 1)[-1]
                where = f"{path}.image"
                if not tag and not digest:
                    problems.append(
                        r.problem(obj, where, f"{image!r} has no tag: it means :latest")
                    )
                    continue
                if tag == "latest":
                    problems.append(r.problem(obj, where, f"{image!r} uses :latest"))
                if short == PROJECT_IMAGE:
                    want = f"{v['RAY101_VERSION']}-gpu" if _gpus(c) else v["RAY101_VERSION"]
                    if tag != want:
                        problems.append(
                            r.problem(
                                obj,
                                where,
                                f"{image!r}: expected tag {want!r} (versions.env RAY101_VERSION)",
                            )
                        )
                elif short == "ray" and not tag.startswith(v["RAY_VERSION"] + "-"):
                    problems.append(
                        r.problem(
                            obj, where, f"{image!r} is not Ray {v['RAY_VERSION']} (versions.env)"
                        )
                    )
                elif short == "mongo" and image != v.get("MONGO_IMAGE", image):
                    problems.append(
                        r.problem(
                            obj,
                            where,
                            f"{image!r} differs from versions.env MONGO_IMAGE={v['MONGO_IMAGE']}",
                        )
                    )
                elif short == "minio" and "MINIO_IMAGE" in v and image != v["MINIO_IMAGE"]:
                    problems.append(
                        r.problem(
                            obj,
                            where,
                            f"{image!r} differs from versions.env MINIO_IMAGE={v['MINIO_IMAGE']}",
                        )
                    )
                policy = c.get("imagePullPolicy")
                if policy not in (None, "Always", "IfNotPresent", "Never"):
                    problems.append(
                        r.problem(
                            obj, f"{path}.imagePullPolicy", f"{policy!r} is not a pull policy"
                        )
                    )
                if expect.kind_cluster and policy == "Always":
                    problems.append(
                        r.problem(
                            obj,
                            f"{path}.imagePullPolicy",
                            "Always would pull instead of using the image `kind load docker-image` loaded",
                        )
                    )
        for path, spec in ray_cluster_specs(obj):
            if spec.get("rayVersion") != v["RAY_VERSION"]:
                problems.append(
                    r.problem(
                        obj,
                        f"{path}.rayVersion",
                        f"{spec.get('rayVersion')!r} differs from the image's Ray {v['RAY_VERSION']} (versions.env RAY_VERSION)",
                    )
                )
    return problems


def check_ray_clusters(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """Head without CPUs for tasks, the documented ports, token auth, autoscaling."""
    problems = []
    for obj in r.all_objects():
        for path, spec in ray_cluster_specs(obj):
            head = spec.get("headGroupSpec") or {}
            if str((head.get("rayStartParams") or {}).get("num-cpus")) != "0":
                problems.append(
                    r.problem(
                        obj,
                        f"{path}.headGroupSpec.rayStartParams.num-cpus",
                        'the head must set num-cpus: "0"',
                    )
                )
            head_containers = _get(head, "template.spec.containers") or [{}]
            ports = {
                p.get("name"): p.get("containerPort") for p in head_containers[0].get("ports") or []
            }
            for name, number in HEAD_PORTS.items():
                if ports.get(name) != number:
                    problems.append(
                        r.problem(
                            obj,
                            f"{path}.headGroupSpec.template.spec.containers[0].ports",
                            f"port {name!r} must be {number} (got {ports.get(name)})",
                        )
                    )
            if _get(spec, "authOptions.mode") != "token":
                problems.append(
                    r.problem(obj, f"{path}.authOptions.mode", "Ray token authentication is off")
                )
            if spec.get("enableInTreeAutoscaling") is not True:
                problems.append(
                    r.problem(obj, f"{path}.enableInTreeAutoscaling", "the autoscaler is off")
                )
            for i, group in enumerate(spec.get("workerGroupSpecs") or []):
                lo, n, hi = (
                    group.get("minReplicas", 0),
                    group.get("replicas", 0),
                    group.get("maxReplicas", 0),
                )
                if not lo <= n <= hi:
                    problems.append(
                        r.problem(
                            obj,
                            f"{path}.workerGroupSpecs[{i}].replicas",
                            f"group {group.get('groupName')!r}: needs minReplicas <= replicas <= maxReplicas ({lo}, {n}, {hi})",
                        )
                    )
    return problems


def check_gpu_group(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """GPU workers: limits, toleration and the replica policy the rendering promises."""
    problems = []
    cluster = next(iter(r.of_kind("RayCluster")), None)
    if cluster is None:
        return [r.problem(None, "", "no RayCluster rendered")]
    groups = cluster["spec"].get("workerGroupSpecs") or []
    gpu_groups = [
        (i, g)
        for i, g in enumerate(groups)
        if any(_gpus(c) for c in _get(g, "template.spec.containers") or [])
    ]
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                limits = _get(c, "resources.limits") or {}
                requests = _get(c, "resources.requests") or {}
                if "nvidia.com/gpu" in requests and str(requests["nvidia.com/gpu"]) != str(
                    limits.get("nvidia.com/gpu")
                ):
                    problems.append(
                        r.problem(
                            obj,
                            f"{path}.resources.limits.nvidia.com/gpu",
                            "GPU requests must equal limits",
                        )
                    )
                if _gpus(c):
                    tolerated = any(
                        t.get("key") == "nvidia.com/gpu" for t in tpl.spec.get("tolerations") or []
                    )
                    if not tolerated:
                        problems.append(
                            r.problem(
                                obj,
                                f"{tpl.path}.spec.tolerations",
                                "GPU pods need the nvidia.com/gpu toleration",
                            )
                        )
    if expect.gpu == "none":
        for i, g in gpu_groups:
            problems.append(
                r.problem(
                    cluster,
                    f"spec.workerGroupSpecs[{i}]",
                    f"group {g.get('groupName')!r} asks for GPUs",
                )
            )
        return problems
    if not gpu_groups:
        return problems + [
            r.problem(
                cluster, "spec.workerGroupSpecs", "no worker group with nvidia.com/gpu limits"
            )
        ]
    for i, g in gpu_groups:
        where = f"spec.workerGroupSpecs[{i}]"
        if expect.gpu == "scale-from-zero" and (
            g.get("replicas") != 0 or g.get("minReplicas") != 0
        ):
            problems.append(
                r.problem(
                    cluster,
                    f"{where}.replicas",
                    "the GPU group must start at 0 (replicas and minReplicas 0)",
                )
            )
        if expect.gpu == "always-on" and (g.get("replicas", 0) < 1 or g.get("minReplicas", 0) < 1):
            problems.append(
                r.problem(
                    cluster, f"{where}.replicas", "the GPU group must keep at least one worker"
                )
            )
        if g.get("maxReplicas", 0) < 1:
            problems.append(
                r.problem(cluster, f"{where}.maxReplicas", "the GPU group can never start a worker")
            )
    return problems


def _entrypoint(entrypoint: str) -> tuple[str, list[str]] | None:
    """(module, args) of `python -m MODULE ARGS...`."""
    try:
        argv = shlex.split(entrypoint)
    except ValueError:
        return None
    if len(argv) >= 3 and argv[0] in ("python", "python3") and argv[1] == "-m":
        return argv[2], argv[3:]
    return None


def check_rayjobs(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """One RayJob per registry workload, each `python -m <its module>` on the shared cluster."""
    problems = []
    clusters = {o["metadata"]["name"] for o in r.of_kind("RayCluster")}
    cluster = next(iter(sorted(clusters)), "ray101")
    found = {}
    for obj in r.of_kind("RayJob"):
        name = obj["metadata"]["name"]
        spec = obj.get("spec") or {}
        workload = name.removeprefix(f"{cluster}-")
        found[workload] = obj
        parsed = _entrypoint(spec.get("entrypoint", ""))
        if parsed is None:
            problems.append(
                r.problem(
                    obj,
                    "spec.entrypoint",
                    f"{spec.get('entrypoint')!r} is not `python -m <module> ...`",
                )
            )
        elif workload in ctx.rayjob_modules and parsed[0] != ctx.rayjob_modules[workload]:
            problems.append(
                r.problem(
                    obj,
                    "spec.entrypoint",
                    f"runs {parsed[0]}, but jobs/registry.py says workload {workload!r} is {ctx.rayjob_modules[workload]}",
                )
            )
        elif workload not in ctx.rayjob_modules:
            problems.append(
                r.problem(
                    obj,
                    "metadata.name",
                    f"{workload!r} is not a RayJob workload in jobs/registry.py",
                )
            )
        selected = (spec.get("clusterSelector") or {}).get("ray.io/cluster")
        if spec.get("rayClusterSpec") is None and selected not in clusters:
            problems.append(
                r.problem(
                    obj,
                    "spec.clusterSelector",
                    f"selects RayCluster {selected!r}, which is not rendered",
                )
            )
        if spec.get("clusterSelector") and spec.get("shutdownAfterJobFinishes"):
            problems.append(
                r.problem(
                    obj,
                    "spec.shutdownAfterJobFinishes",
                    "would delete the shared RayCluster after the job",
                )
            )
        # What KubeRay's RayJob validation refuses or silently ignores.
        mode = spec.get("submissionMode", "K8sJobMode")
        if spec.get("clusterSelector") and mode == "SidecarMode":
            problems.append(
                r.problem(
                    obj, "spec.submissionMode", "KubeRay refuses clusterSelector in SidecarMode"
                )
            )
        if spec.get("clusterSelector") and spec.get("suspend"):
            problems.append(
                r.problem(obj, "spec.suspend", "a RayJob with clusterSelector cannot be suspended")
            )
        if spec.get("submitterPodTemplate") and mode != "K8sJobMode":
            problems.append(
                r.problem(
                    obj,
                    "spec.submitterPodTemplate",
                    f"only K8sJobMode runs a submitter pod, not {mode}",
                )
            )
        if spec.get("ttlSecondsAfterFinished") and not spec.get("shutdownAfterJobFinishes"):
            problems.append(
                r.problem(
                    obj,
                    "spec.ttlSecondsAfterFinished",
                    "does nothing without shutdownAfterJobFinishes",
                )
            )
        if (
            not isinstance(spec.get("activeDeadlineSeconds"), int)
            or spec["activeDeadlineSeconds"] <= 0
        ):
            problems.append(
                r.problem(obj, "spec.activeDeadlineSeconds", "a RayJob needs a deadline")
            )
        if spec.get("runtimeEnvYAML") is not None:
            try:
                env = yaml.safe_load(spec["runtimeEnvYAML"]) or {}
            except yaml.YAMLError:
                env = None
            if not isinstance(env, dict):
                problems.append(r.problem(obj, "spec.runtimeEnvYAML", "is not a YAML mapping"))
    if expect.all_parts:
        for workload in sorted(set(ctx.rayjob_modules) - set(found)):
            problems.append(
                r.problem(
                    None,
                    "",
                    f"no RayJob {cluster}-{workload} for workload {workload!r} (jobs/registry.py)",
                )
            )
    return problems


def _runtime_env_vars(obj: Obj) -> dict[str, str]:
    try:
        env = yaml.safe_load(_get(obj, "spec.runtimeEnvYAML") or "") or {}
    except yaml.YAMLError:
        return {}
    return (
        {k: str(v) for k, v in (env.get("env_vars") or {}).items()} if isinstance(env, dict) else {}
    )


def check_tune_storage(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """The tune job writes where every node can reach: an S3/GCS bucket (MinIO's on kind)."""
    job = next((o for o in r.of_kind("RayJob") if o["metadata"]["name"].endswith("-tune")), None)
    if job is None:
        return []
    env = _runtime_env_vars(job)
    where = "spec.runtimeEnvYAML.env_vars.RAY101_STORAGE_PATH"
    path = env.get("RAY101_STORAGE_PATH", "")
    if not re.match(r"^(s3|gs)://[^/]+", path):
        return [
            r.problem(
                job,
                where,
                f"{path!r}: a multi-node Tune run needs a bucket every node reaches (s3:// or gs://)",
            )
        ]
    problems = []
    endpoint = env.get("AWS_ENDPOINT_URL")
    if endpoint:
        # The bucket must be the one the MinIO bucket Job creates.
        buckets = {
            argv[-1]
            for o in r.of_kind("Job")
            for t in pod_templates(o)
            for _, c in containers(t)
            if (argv := [*(c.get("command") or []), *(c.get("args") or [])])[3:5]
            == ["bucket", "create"]
        }
        bucket = urlsplit(path).netloc
        if bucket not in buckets:
            problems.append(
                r.problem(
                    job,
                    where,
                    f"bucket {bucket!r} is not the one created in MinIO ({sorted(buckets)})",
                )
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
                problems.append(
                    r.problem(
                        cluster or job,
                        "spec",
                        f"{key} is set nowhere, so Tune cannot write to {endpoint}",
                    )
                )
    return problems


def check_serve_config(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """The echo RayService: the application, route and port the project documents."""
    problems = []
    services = r.of_kind("RayService")
    if expect.all_parts and not services:
        problems.append(r.problem(None, "", "no RayService rendered"))
    for obj in services:
        try:
            config = yaml.safe_load(_get(obj, "spec.serveConfigV2") or "")
        except yaml.YAMLError as exc:
            problems.append(r.problem(obj, "spec.serveConfigV2", f"not YAML: {exc}"))
            continue
        apps = (config or {}).get("applications") or []
        if not apps:
            problems.append(r.problem(obj, "spec.serveConfigV2.applications", "no application"))
            continue
        app = apps[0]
        wanted = {"name": "echo", "import_path": "jobs.echo:app", "route_prefix": "/"}
        for key, value in wanted.items():
            if app.get(key) != value:
                problems.append(
                    r.problem(
                        obj,
                        f"spec.serveConfigV2.applications[0].{key}",
                        f"{app.get(key)!r}, expected {value!r}",
                    )
                )
        port = ((config or {}).get("http_options") or {}).get("port", SERVE_PORT)
        if port != SERVE_PORT:
            problems.append(
                r.problem(
                    obj, "spec.serveConfigV2.http_options.port", f"{port}, expected {SERVE_PORT}"
                )
            )
        for tpl in pod_templates(obj):
            ports = _container_ports(tpl)
            if ports.get("serve") != port:
                problems.append(
                    r.problem(
                        obj,
                        f"{tpl.path}.spec.containers[0].ports",
                        f"no containerPort named 'serve' = {port} (Serve listens there; KubeRay's serve Service targets it)",
                    )
                )
    return problems


def check_env_references(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """Secrets named in env exist with the key; $(VAR) names a variable defined before."""
    problems = []
    secrets = {
        (namespace_of(o), o["metadata"]["name"]): set(o.get("data") or {})
        | set(o.get("stringData") or {})
        for o in r.of_kind("Secret")
    }
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                defined: set[str] = set()
                for i, e in enumerate(c.get("env") or []):
                    ref = _get(e, "valueFrom.secretKeyRef")
                    if ref and not ref.get("optional"):
                        key = (namespace_of(obj), ref.get("name"))
                        if key not in secrets:
                            problems.append(
                                r.problem(
                                    obj,
                                    f"{path}.env[{i}].valueFrom.secretKeyRef.name",
                                    f"Secret {ref.get('name')!r} is not rendered",
                                )
                            )
                        elif ref.get("key") not in secrets[key]:
                            problems.append(
                                r.problem(
                                    obj,
                                    f"{path}.env[{i}].valueFrom.secretKeyRef.key",
                                    f"Secret {ref.get('name')!r} has no key {ref.get('key')!r}",
                                )
                            )
                    for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", e.get("value") or ""):
                        if var not in defined:
                            problems.append(
                                r.problem(
                                    obj,
                                    f"{path}.env[{i}].value",
                                    f"$({var}) is not defined before {e.get('name')}; it would stay literal",
                                )
                            )
                    defined.add(e.get("name"))
    return problems


def _service_for_host(r: Rendered, host: str, namespace: str | None) -> tuple[Obj | None, str]:
    """The Service a DNS name designates: NAME, NAME.NS, NAME.NS.svc[.cluster.local]."""
    parts = host.split(".")
    name = parts[0]
    ns = parts[1] if len(parts) > 1 else namespace
    if len(parts) > 2 and parts[2] != "svc":
        return None, f"{host!r} is not a Service DNS name (NAME.NAMESPACE.svc)"
    if ns != namespace:
        return None, f"{host!r} is in namespace {ns!r}, but the pod runs in {namespace!r}"
    for svc in r.of_kind("Service"):
        if svc["metadata"]["name"] == name and namespace_of(svc) == ns:
            return svc, ""
    return None, f"no Service {name!r} in namespace {ns!r}"


def _derived_services(r: Rendered) -> dict[str, dict[str | int, int]]:
    """Services KubeRay creates: <cluster>-head-svc and <rayservice>-serve-svc, with their ports."""
    derived = {}
    for obj in r.of_kind("RayCluster"):
        head = pod_templates(obj)[0]
        derived[f"{obj['metadata']['name']}-head-svc"] = _container_ports(head)
    for obj in r.of_kind("RayService"):
        derived[f"{obj['metadata']['name']}-serve-svc"] = {
            SERVE_PORT: SERVE_PORT,
            "serve": SERVE_PORT,
        }
    return derived


def _check_url(r: Rendered, obj: Obj, field: str, url: str, namespace: str | None) -> list[Problem]:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    if not host or "$(" in host:
        return []
    derived = _derived_services(r)
    if host.split(".")[0] in derived:
        name = host.split(".")[0]
        if port is not None and port not in derived[name]:
            return [r.problem(obj, field, f"{url!r}: {name} has no port {port}")]
        return []
    if "." not in host and host not in {s["metadata"]["name"] for s in r.of_kind("Service")}:
        return []  # not an in-cluster name this check knows
    svc, why = _service_for_host(r, host, namespace)
    if svc is None:
        return [r.problem(obj, field, f"{url!r}: {why}")]
    ports = [p.get("port") for p in svc["spec"].get("ports") or []]
    if port is not None and port not in ports:
        return [
            r.problem(
                obj,
                field,
                f"{url!r}: Service {svc['metadata']['name']} listens on {ports}, not {port}",
            )
        ]
    return []


def check_urls(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """In-cluster URLs in env and runtime envs (MONGODB_URI, AWS_ENDPOINT_URL,
    the echo URL) name a rendered Service, in the right namespace, on one of its ports."""
    problems = []
    for obj in r.all_objects():
        ns = namespace_of(obj)
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                for i, e in enumerate(c.get("env") or []):
                    value = e.get("value") or ""
                    if re.match(r"^(https?|mongodb)://", value):
                        problems += _check_url(r, obj, f"{path}.env[{i}].value", value, ns)
        for key, value in _runtime_env_vars(obj).items():
            if re.match(r"^(https?|mongodb)://", value):
                problems += _check_url(r, obj, f"spec.runtimeEnvYAML.env_vars.{key}", value, ns)
    return problems


def check_mongodb_uri(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """Whoever needs MongoDB gets MONGODB_URI, and its host is the MongoDB Service's DNS name."""
    problems = []
    mongo_services = [
        s
        for s in r.of_kind("Service")
        if any(p.get("port") == 27017 for p in s["spec"].get("ports") or [])
    ]
    if not mongo_services:
        return (
            [r.problem(None, "", "no MongoDB Service (port 27017) rendered")]
            if expect.all_parts
            else []
        )
    svc = mongo_services[0]
    names = {
        svc["metadata"]["name"],
        f"{svc['metadata']['name']}.{namespace_of(svc)}",
        f"{svc['metadata']['name']}.{namespace_of(svc)}.svc",
        f"{svc['metadata']['name']}.{namespace_of(svc)}.svc.cluster.local",
    }
    users = 0
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                for i, e in enumerate(c.get("env") or []):
                    if e.get("name") != "MONGODB_URI":
                        continue
                    users += 1
                    uri = re.sub(r"\$\([A-Za-z0-9_]+\)", "x", e.get("value") or "")
                    host = urlsplit(uri).hostname
                    if host not in names:
                        problems.append(
                            r.problem(
                                obj,
                                f"{path}.env[{i}].value",
                                f"MongoDB host {host!r} is not the Service {svc['metadata']['name']!r} ({sorted(names)})",
                            )
                        )
    if expect.all_parts:
        cluster = next(iter(r.of_kind("RayCluster")), None)
        for tpl in pod_templates(cluster or {}):
            env = {e.get("name") for _, c in containers(tpl) for e in c.get("env") or []}
            if "MONGODB_URI" not in env:
                problems.append(
                    r.problem(
                        cluster,
                        f"{tpl.path}.spec.containers[0].env",
                        "no MONGODB_URI (the mongo workload reads it)",
                    )
                )
        if not users:
            problems.append(r.problem(None, "", "no container gets MONGODB_URI"))
    return problems


def check_services(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """Service selectors match pods, target ports exist; workload selectors match their own pods."""
    problems = []
    for svc in r.of_kind("Service"):
        selector = svc["spec"].get("selector") or {}
        matched = [
            (o, t)
            for o, t in _templates_in(r, namespace_of(svc))
            if _labels_match(selector, t.labels)
        ]
        if not matched:
            problems.append(r.problem(svc, "spec.selector", f"{selector} matches no pod template"))
            continue
        for i, port in enumerate(svc["spec"].get("ports") or []):
            target = port.get("targetPort", port.get("port"))
            for o, t in matched:
                if target not in _container_ports(t):
                    problems.append(
                        r.problem(
                            svc,
                            f"spec.ports[{i}].targetPort",
                            f"{target!r} is no container port of {o['kind']}/{o['metadata']['name']}",
                        )
                    )
    for obj in r.all_objects():
        kind = obj.get("kind")
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
            selector = _selector_labels(_get(obj, "spec.selector"))
            labels = pod_templates(obj)[0].labels
            if not _labels_match(selector, labels):
                problems.append(
                    r.problem(
                        obj,
                        "spec.selector.matchLabels",
                        f"{selector} does not match the pod template's labels",
                    )
                )
        if kind == "StatefulSet":
            name = _get(obj, "spec.serviceName")
            if name not in {s["metadata"]["name"] for s in r.of_kind("Service")}:
                problems.append(
                    r.problem(obj, "spec.serviceName", f"names no rendered Service ({name!r})")
                )
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                ports = _container_ports(tpl)
                for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                    for kind_ in ("httpGet", "tcpSocket", "grpc"):
                        port = _get(c, f"{probe}.{kind_}.port")
                        if port is not None and port not in ports:
                            problems.append(
                                r.problem(
                                    obj,
                                    f"{path}.{probe}.{kind_}.port",
                                    f"{port!r} is no container port",
                                )
                            )
    return problems


def check_mongodb(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """MongoDB has probes, a volume, and a NetworkPolicy that admits exactly the
    pods that use it: those given MONGODB_URI (check_mongodb_uri makes sure the
    RayCluster's are)."""
    sets = [o for o in r.of_kind("StatefulSet") if o["metadata"]["name"].endswith("-mongodb")]
    if not sets:
        return [r.problem(None, "", "no MongoDB StatefulSet rendered")] if expect.all_parts else []
    problems = []
    sts = sets[0]
    container = (_get(sts, "spec.template.spec.containers") or [{}])[0]
    for probe in ("readinessProbe", "livenessProbe"):
        if probe not in container:
            problems.append(r.problem(sts, f"spec.template.spec.containers[0].{probe}", "missing"))
    if not _get(sts, "spec.volumeClaimTemplates"):
        problems.append(
            r.problem(
                sts, "spec.volumeClaimTemplates", "MongoDB's data would not survive a restart"
            )
        )
    policies = [
        p
        for p in r.of_kind("NetworkPolicy")
        if _labels_match(
            _selector_labels(_get(p, "spec.podSelector")), pod_templates(sts)[0].labels
        )
    ]
    if not policies:
        return problems + (
            [r.problem(sts, "", "no NetworkPolicy selects the MongoDB pods")]
            if expect.all_parts
            else []
        )
    policy = policies[0]
    mongo_ports = set(_container_ports(pod_templates(sts)[0]).values())
    allowed: list[tuple[Obj, PodTemplate]] = []
    for i, rule in enumerate(_get(policy, "spec.ingress") or []):
        for j, port in enumerate(rule.get("ports") or []):
            if port.get("port") not in mongo_ports:
                problems.append(
                    r.problem(
                        policy,
                        f"spec.ingress[{i}].ports[{j}].port",
                        f"{port.get('port')} is not MongoDB's port",
                    )
                )
        for peer in rule.get("from") or []:
            if "namespaceSelector" in peer or "ipBlock" in peer or "podSelector" not in peer:
                problems.append(
                    r.problem(
                        policy, f"spec.ingress[{i}].from", "admits more than pods of this namespace"
                    )
                )
                continue
            selector = _selector_labels(peer["podSelector"])
            allowed += [
                (o, t)
                for o, t in _templates_in(r, namespace_of(policy))
                if _labels_match(selector, t.labels)
            ]
    admitted = {(o["kind"], o["metadata"]["name"], t.path) for o, t in allowed}
    # The pods that use MongoDB are the ones given MONGODB_URI: the RayCluster's
    # (drivers and tasks), the loader and the mongo RayJob's submitter, whose
    # init container waits for the loaded data.
    expected = {
        (o["kind"], o["metadata"]["name"], t.path)
        for o in r.all_objects()
        for t in pod_templates(o)
        if any(e.get("name") == "MONGODB_URI" for _, c in containers(t) for e in c.get("env") or [])
    }
    for kind, name, path in sorted(expected - admitted):
        problems.append(r.problem(policy, "spec.ingress", f"does not admit {kind}/{name} {path}"))
    for kind, name, path in sorted(admitted - expected):
        problems.append(
            r.problem(
                policy, "spec.ingress", f"admits {kind}/{name} {path}, which does not use MongoDB"
            )
        )
    return problems


def check_names(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """Names are valid, fit KubeRay's 47-character limit and the Services derived from them fit 63."""
    problems = []
    for obj in r.all_objects():
        kind, name = ident(obj)
        if not DNS_SUBDOMAIN.match(name or "") or len(name) > 253:
            problems.append(r.problem(obj, "metadata.name", f"{name!r} is not a valid name"))
        if kind in RAY_KINDS and len(name) > KUBERAY_NAME_LIMIT:
            problems.append(
                r.problem(
                    obj,
                    "metadata.name",
                    f"{len(name)} characters; KubeRay allows {KUBERAY_NAME_LIMIT}",
                )
            )
        if kind == "Service" and (not DNS_LABEL.match(name) or len(name) > 63):
            problems.append(
                r.problem(
                    obj, "metadata.name", f"{name!r} is not a DNS label (63 characters at most)"
                )
            )
    for derived in _derived_services(r):
        if len(derived) > 63:
            problems.append(
                r.problem(
                    None,
                    "metadata.name",
                    f"KubeRay's Service {derived!r} would exceed 63 characters",
                )
            )
    return problems


def check_labels(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """The standard app.kubernetes.io labels on every object, with the project version."""
    problems = []
    for obj in r.all_objects():
        labels = _get(obj, "metadata.labels") or {}
        missing = [k for k in STANDARD_LABELS if k not in labels]
        if missing:
            problems.append(r.problem(obj, "metadata.labels", f"missing {', '.join(missing)}"))
        version = labels.get("app.kubernetes.io/version")
        if version is not None and str(version) != ctx.versions["RAY101_VERSION"]:
            problems.append(
                r.problem(
                    obj,
                    "metadata.labels.app.kubernetes.io/version",
                    f"{version!r} is not versions.env RAY101_VERSION",
                )
            )
    return problems


# Labels whose value changes with every release.
RELEASE_LABELS = ("app.kubernetes.io/version", "helm.sh/chart")


def check_immutable_templates(r: Rendered, ctx: Context, expect: Expect) -> list[Problem]:
    """No per-release label where the API server refuses changes after creation
    (a Job's pod template, a StatefulSet's volumeClaimTemplates): the next
    version's `kubectl apply` or `helm upgrade` would fail on it."""
    problems = []
    for obj in r.all_objects():
        kind = obj.get("kind")
        places: list[tuple[str, Obj]] = []
        if kind == "Job":
            places.append(("spec.template.metadata.labels", _get(obj, "spec.template") or {}))
        if kind == "StatefulSet":
            places += [
                (f"spec.volumeClaimTemplates[{i}].metadata.labels", claim)
                for i, claim in enumerate(_get(obj, "spec.volumeClaimTemplates") or [])
            ]
        for where, node in places:
            labels = (node.get("metadata") or {}).get("labels") or {}
            for label in RELEASE_LABELS:
                if label in labels:
                    problems.append(
                        r.problem(
                            obj,
                            f"{where}.{label}",
                            "changes with every release, but this cannot change after "
                            "creation: the next upgrade would be refused",
                        )
                    )
    return problems


PER_RENDERING: list[Callable[[Rendered, Context, Expect], list[Problem]]] = [
    check_resources,
    check_security,
    check_images,
    check_ray_clusters,
    check_gpu_group,
    check_rayjobs,
    check_tune_storage,
    check_serve_config,
    check_env_references,
    check_urls,
    check_mongodb_uri,
    check_services,
    check_mongodb,
    check_names,
    check_labels,
    check_immutable_templates,
]


def check_rendering(r: Rendered, ctx: Context, expect: Expect | None = None) -> list[Problem]:
    expect = expect or EXPECT.get(r.source, Expect(gpu="scale-from-zero"))
    return [p for check in PER_RENDERING for p in check(r, ctx, expect)]


# ---------------------------------------------------------------- across renderings


def probe_python() -> str:
    """The project's virtualenv Python: what the image has installed."""
    venv = REPO_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def check_imports(
    renderings: list[Rendered], sys_path: list[str] | None = None, timeout: float = 300
) -> list[Problem]:
    """Import every RayJob entrypoint module (and parse its flags), every
    `python -m jobs.cli` command and every Serve application, in one child
    Python, as the Ray image would."""
    modules: dict[tuple[str, tuple[str, ...]], list[tuple[Rendered, Obj, str]]] = {}
    commands: dict[tuple[str, ...], list[tuple[Rendered, Obj, str]]] = {}
    serve: dict[str, list[tuple[Rendered, Obj, str]]] = {}
    for r in renderings:
        for obj in r.all_objects():
            if obj.get("kind") == "RayJob":
                parsed = _entrypoint(_get(obj, "spec.entrypoint") or "")
                if parsed:
                    modules.setdefault((parsed[0], tuple(parsed[1])), []).append(
                        (r, obj, "spec.entrypoint")
                    )
            if obj.get("kind") == "RayService":
                config = _get(obj, "spec.serveConfigV2") or ""
                serve.setdefault(config, []).append((r, obj, "spec.serveConfigV2"))
            for tpl in pod_templates(obj):
                for path, c in containers(tpl):
                    argv = [*(c.get("command") or []), *(c.get("args") or [])]
                    if len(argv) >= 3 and argv[0] in ("python", "python3") and argv[1] == "-m":
                        if argv[2] == "jobs.cli":
                            commands.setdefault(tuple(argv[3:]), []).append(
                                (r, obj, f"{path}.command")
                            )
                        else:
                            modules.setdefault((argv[2], tuple(argv[3:])), []).append(
                                (r, obj, f"{path}.command")
                            )
    request = {
        "sys_path": sys_path or [],
        "modules": [{"module": m, "args": list(a)} for m, a in modules],
        "commands": [list(c) for c in commands],
        "serve": [{"config": c} for c in serve],
    }
    proc = subprocess.run(
        [probe_python(), "-m", "tools.manifests.probe"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=timeout,
    )
    if proc.returncode != 0:
        return [
            Problem(
                "imports", "", "", "", f"the import probe failed: {proc.stderr.strip()[-2000:]}"
            )
        ]
    answer = json.loads(proc.stdout)
    problems = []
    for (_key, users), result in zip(modules.items(), answer["modules"], strict=True):
        if not result["ok"]:
            problems += [r.problem(obj, field, result["error"]) for r, obj, field in users]
    for (_key, users), result in zip(commands.items(), answer["commands"], strict=True):
        if not result["ok"]:
            problems += [r.problem(obj, field, result["error"]) for r, obj, field in users]
    for (_key, users), result in zip(serve.items(), answer["serve"], strict=True):
        if not result["ok"]:
            suffix = f".{result['field']}" if result.get("field") else ""
            problems += [
                r.problem(obj, f"{field}{suffix}", result["error"]) for r, obj, field in users
            ]
    return problems


def check_chart_versions(chart_dir: Path, versions: dict[str, str]) -> list[Problem]:
    """Versions the chart repeats equal versions.env."""
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    values = yaml.safe_load((chart_dir / "values.yaml").read_text())
    label = "helm/ray101"
    wanted = {
        "Chart.yaml appVersion": (str(chart.get("appVersion")), versions["RAY101_VERSION"]),
        "values.yaml image.tag": (str(values["image"]["tag"]), versions["RAY101_VERSION"]),
        "values.yaml image.gpuTag": (
            str(values["image"]["gpuTag"]),
            f"{versions['RAY101_VERSION']}-gpu",
        ),
        "values.yaml ray.version": (str(values["ray"]["version"]), versions["RAY_VERSION"]),
        "values.yaml mongodb.image": (
            f"{values['mongodb']['image']['repository']}:{values['mongodb']['image']['tag']}",
            versions["MONGO_IMAGE"],
        ),
        "Chart.yaml annotations ray101/kuberay-version": (
            str((chart.get("annotations") or {}).get("ray101/kuberay-version")),
            versions["KUBERAY_VERSION"],
        ),
    }
    if "MINIO_IMAGE" in versions:
        minio = values["minio"]["image"]
        wanted["values.yaml minio.image"] = (
            f"{minio['repository']}:{minio['tag']}",
            versions["MINIO_IMAGE"],
        )
    return [
        Problem(label, "", "", field, f"{have!r} differs from versions.env ({want!r})")
        for field, (have, want) in wanted.items()
        if have != want
    ]
