"""Inside the pod templates checkov does not read (RayCluster, RayService,
RayJob): requests and limits, non-root users without privilege escalation.
Every pod: the user its image expects, and every image against versions.env."""

from __future__ import annotations

from collections.abc import Iterator

from tools.manifests.checks.context import Context, Expect
from tools.manifests.checks.lookups import (
    PROJECT_IMAGE,
    RAY_KINDS,
    dig,
    gpus_of,
    image_parts,
)
from tools.manifests.model import (
    Obj,
    Problem,
    Rendered,
    containers,
    pod_templates,
    ray_cluster_specs,
)


def check_resources(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Every container of a KubeRay object has CPU and memory requests and limits
    (checkov's CKV_K8S_10..13 cover the built-in kinds)."""
    for obj in r.all_objects():
        if obj.get("kind") not in RAY_KINDS:
            continue
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                for section in ("requests", "limits"):
                    values = dig(c, f"resources.{section}") or {}
                    for resource in ("cpu", "memory"):
                        if resource not in values:
                            yield r.problem(
                                obj,
                                f"{path}.resources.{section}.{resource}",
                                f"container {c.get('name')!r} has no {resource} {section[:-1]}",
                            )
        for path, spec in ray_cluster_specs(obj):
            if spec.get("enableInTreeAutoscaling"):
                res = dig(spec, "autoscalerOptions.resources") or {}
                for section in ("requests", "limits"):
                    for resource in ("cpu", "memory"):
                        if resource not in (res.get(section) or {}):
                            yield r.problem(
                                obj,
                                f"{path}.autoscalerOptions.resources.{section}.{resource}",
                                f"the autoscaler sidecar has no {resource} {section[:-1]}",
                            )


def _expected_uid(image: str) -> int | None:
    repo = image_parts(image)[0].rsplit("/", 1)[-1]
    if repo in (PROJECT_IMAGE, "ray"):
        return 1000  # rayproject/ray's user "ray"
    if repo == "mongo":
        return 999  # the mongo image's user "mongodb"
    return None


def check_security(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Every container of a KubeRay object runs as a non-root user without
    privilege escalation (checkov covers the built-in kinds); every container
    runs as the user its image's files belong to."""
    for obj in r.all_objects():
        ray = obj.get("kind") in RAY_KINDS
        for tpl in pod_templates(obj):
            pod_sc = tpl.spec.get("securityContext") or {}
            for path, c in containers(tpl):
                sc = c.get("securityContext") or {}
                name = c.get("name")
                non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
                uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
                if ray and non_root is not True:
                    yield r.problem(
                        obj,
                        f"{path}.securityContext.runAsNonRoot",
                        f"container {name!r} may run as root",
                    )
                if ray and uid == 0:
                    yield r.problem(
                        obj,
                        f"{path}.securityContext.runAsUser",
                        f"container {name!r} runs as uid 0",
                    )
                want = _expected_uid(c.get("image", ""))
                if want is not None and uid is not None and uid != want:
                    yield r.problem(
                        obj,
                        f"{path}.securityContext.runAsUser",
                        f"container {name!r} runs as uid {uid}, but {c.get('image')} runs as uid {want}",
                    )
                if ray and sc.get("allowPrivilegeEscalation") is not False:
                    yield r.problem(
                        obj,
                        f"{path}.securityContext.allowPrivilegeEscalation",
                        f"container {name!r} does not set allowPrivilegeEscalation: false",
                    )
                if ray and sc.get("privileged"):
                    yield r.problem(
                        obj,
                        f"{path}.securityContext.privileged",
                        f"container {name!r} is privileged",
                    )
        for path, spec in ray_cluster_specs(obj):
            if spec.get("enableInTreeAutoscaling"):
                sc = dig(spec, "autoscalerOptions.securityContext") or {}
                if (
                    sc.get("runAsNonRoot") is not True
                    or sc.get("allowPrivilegeEscalation") is not False
                ):
                    yield r.problem(
                        obj,
                        f"{path}.autoscalerOptions.securityContext",
                        "the autoscaler sidecar must set runAsNonRoot: true and allowPrivilegeEscalation: false",
                    )


def check_images(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Images are pinned; the project image carries the project version; the
    Ray version KubeRay is told is the one in the image."""
    v = ctx.versions
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            for path, c in containers(tpl):
                image = c.get("image", "")
                repo, tag, digest = image_parts(image)
                short = repo.rsplit("/", 1)[-1]
                where = f"{path}.image"
                if not tag and not digest:
                    yield r.problem(obj, where, f"{image!r} has no tag: it means :latest")
                    continue
                if tag == "latest":
                    yield r.problem(obj, where, f"{image!r} uses :latest")
                if short == PROJECT_IMAGE and repo == PROJECT_IMAGE and not expect.kind_cluster:
                    yield r.problem(
                        obj,
                        where,
                        f"{image!r} exists only where `kind load` put it: a cluster would pull "
                        "docker.io/library/ray101 (name your registry: image.repository, or an overlay's images entry)",
                    )
                if short == PROJECT_IMAGE:
                    want = f"{v['RAY101_VERSION']}-gpu" if gpus_of(c) else v["RAY101_VERSION"]
                    if tag != want:
                        yield r.problem(
                            obj,
                            where,
                            f"{image!r}: expected tag {want!r} (versions.env RAY101_VERSION)",
                        )
                elif short == "ray" and not tag.startswith(v["RAY_VERSION"] + "-"):
                    yield r.problem(
                        obj, where, f"{image!r} is not Ray {v['RAY_VERSION']} (versions.env)"
                    )
                elif short == "mongo" and image != v.get("MONGO_IMAGE", image):
                    yield r.problem(
                        obj,
                        where,
                        f"{image!r} differs from versions.env MONGO_IMAGE={v['MONGO_IMAGE']}",
                    )
                elif short == "seaweedfs" and image != v.get("SEAWEEDFS_IMAGE", image):
                    yield r.problem(
                        obj,
                        where,
                        f"{image!r} differs from versions.env SEAWEEDFS_IMAGE={v['SEAWEEDFS_IMAGE']}",
                    )
                policy = c.get("imagePullPolicy")
                if expect.kind_cluster and policy == "Always":
                    yield r.problem(
                        obj,
                        f"{path}.imagePullPolicy",
                        "Always would pull instead of using the image `kind load docker-image` loaded",
                    )
        for path, spec in ray_cluster_specs(obj):
            if spec.get("rayVersion") != v["RAY_VERSION"]:
                yield r.problem(
                    obj,
                    f"{path}.rayVersion",
                    f"{spec.get('rayVersion')!r} differs from the image's Ray {v['RAY_VERSION']} (versions.env RAY_VERSION)",
                )


# Volume types the "restricted" Pod Security Standard allows.
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def _restricted_container(sc: Obj, pod_sc: Obj, what: str) -> Iterator[tuple[str, str]]:
    """(field under the container, message) for each way a container breaks
    the restricted Pod Security Standard."""
    if sc.get("allowPrivilegeEscalation") is not False:
        yield "securityContext.allowPrivilegeEscalation", f"{what} must set false"
    if sc.get("privileged"):
        yield "securityContext.privileged", f"{what} is privileged"
    caps = sc.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        yield "securityContext.capabilities.drop", f"{what} must drop ALL"
    if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
        yield "securityContext.capabilities.add", f"{what} adds {sorted(caps['add'])}"
    if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
        yield "securityContext.runAsNonRoot", f"{what} must run as non-root"
    if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
        yield "securityContext.runAsUser", f"{what} runs as uid 0"
    seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        yield "securityContext.seccompProfile.type", f"{what} needs RuntimeDefault or Localhost"


def check_pod_security_restricted(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """Every pod template meets the "restricted" Pod Security Standard the
    namespace enforces, including the autoscaler sidecar KubeRay adds (it takes
    autoscalerOptions.securityContext; KubeRay's init containers copy the Ray
    container's, checked here as the Ray container)."""
    for obj in r.all_objects():
        for tpl in pod_templates(obj):
            base = f"{tpl.path}.spec" if tpl.path else "spec"
            pod_sc = tpl.spec.get("securityContext") or {}
            for key in ("hostNetwork", "hostPID", "hostIPC"):
                if tpl.spec.get(key):
                    yield r.problem(obj, f"{base}.{key}", "not allowed by restricted")
            for i, volume in enumerate(tpl.spec.get("volumes") or []):
                kinds = set(volume) - {"name"}
                if kinds - RESTRICTED_VOLUMES:
                    yield r.problem(
                        obj,
                        f"{base}.volumes[{i}]",
                        f"volume type {sorted(kinds)} not allowed by restricted",
                    )
            for path, c in containers(tpl):
                for field, message in _restricted_container(
                    c.get("securityContext") or {}, pod_sc, f"container {c.get('name')!r}"
                ):
                    yield r.problem(obj, f"{path}.{field}", message)
                for j, port in enumerate(c.get("ports") or []):
                    if port.get("hostPort"):
                        yield r.problem(
                            obj, f"{path}.ports[{j}].hostPort", "not allowed by restricted"
                        )
        for path, spec in ray_cluster_specs(obj):
            if spec.get("enableInTreeAutoscaling"):
                head_sc = dig(spec, "headGroupSpec.template.spec.securityContext") or {}
                for field, message in _restricted_container(
                    dig(spec, "autoscalerOptions.securityContext") or {},
                    head_sc,
                    "the autoscaler sidecar",
                ):
                    yield r.problem(obj, f"{path}.autoscalerOptions.{field}", message)


def check_namespace_pod_security(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """A rendered Namespace enforces (and warns and audits) the restricted standard."""
    for obj in r.of_kind("Namespace"):
        labels = dig(obj, "metadata.labels") or {}
        for mode in ("enforce", "warn", "audit"):
            key = f"pod-security.kubernetes.io/{mode}"
            if labels.get(key) != "restricted":
                yield r.problem(
                    obj, f"metadata.labels.{key}", f"{labels.get(key)!r}, expected 'restricted'"
                )
