"""Reading objects: nested fields, label selectors, images, ports, entrypoints and the Services KubeRay derives."""

from __future__ import annotations

import base64
import re
import shlex

import yaml

from tools.manifests.model import (
    Obj,
    PodTemplate,
    Rendered,
    containers,
    namespace_of,
    pod_templates,
)

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


def dig(obj: Obj, path: str, default=None):
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def selector_labels(selector: Obj | None) -> dict[str, str]:
    """matchLabels of a LabelSelector (matchExpressions are not used here)."""
    return dict((selector or {}).get("matchLabels") or {})


def templates_in(r: Rendered, namespace: str | None) -> list[tuple[Obj, PodTemplate]]:
    return [
        (o, t) for o in r.all_objects() if namespace_of(o) == namespace for t in pod_templates(o)
    ]


def image_parts(image: str) -> tuple[str, str, str]:
    """(repository, tag, digest) of an image reference."""
    ref, _, digest = image.partition("@")
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = ref.rpartition(":")
    else:
        repo, tag = ref, ""
    return repo, tag, digest


def container_ports(tpl: PodTemplate) -> dict[str | int, int]:
    """name -> port and port -> port for every container port of a pod."""
    found: dict[str | int, int] = {}
    for _, c in containers(tpl):
        for p in c.get("ports") or []:
            found[p["containerPort"]] = p["containerPort"]
            if p.get("name"):
                found[p["name"]] = p["containerPort"]
    return found


def gpus_of(container: Obj) -> int:
    limit = dig(container, "resources.limits", {}) or {}
    try:
        return int(str(limit.get("nvidia.com/gpu", 0)))
    except ValueError:
        return 0


def split_timeout(argv: list[str]) -> tuple[float | None, list[str]]:
    """(seconds, the command) of `timeout [OPTIONS] DURATION COMMAND...`;
    (None, argv) when argv does not start with `timeout DURATION`."""
    if not argv or argv[0] != "timeout":
        return None, argv
    rest = argv[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[1:]
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", rest[0]) if rest else None
    if not match:
        return None, argv
    seconds = float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]
    return seconds, rest[1:]


def driver_timeout(entrypoint: str) -> float | None:
    """Seconds of the `timeout [OPTIONS] DURATION` an entrypoint runs under, or None."""
    try:
        argv = shlex.split(entrypoint)
    except ValueError:
        return None
    return split_timeout(argv)[0]


def parse_entrypoint(entrypoint: str) -> tuple[str, list[str]] | None:
    """(module, args) of `[timeout [OPTIONS] DURATION] python -m MODULE ARGS...`."""
    try:
        argv = shlex.split(entrypoint)
    except ValueError:
        return None
    argv = split_timeout(argv)[1]
    if len(argv) >= 3 and argv[0] in ("python", "python3") and argv[1] == "-m":
        return argv[2], argv[3:]
    return None


def container_argv(container: Obj) -> list[str]:
    """What a container runs (command, then args), without a leading `timeout DURATION`."""
    argv = [*(container.get("command") or []), *(container.get("args") or [])]
    return split_timeout(argv)[1]


def runtime_env_vars(obj: Obj) -> dict[str, str]:
    try:
        env = yaml.safe_load(dig(obj, "spec.runtimeEnvYAML") or "") or {}
    except yaml.YAMLError:
        return {}
    return (
        {k: str(v) for k, v in (env.get("env_vars") or {}).items()} if isinstance(env, dict) else {}
    )


def derived_services(r: Rendered) -> dict[str, dict[str | int, int]]:
    """Services KubeRay creates: <cluster>-head-svc and <rayservice>-serve-svc, with their ports."""
    derived = {}
    for obj in r.of_kind("RayCluster"):
        head = pod_templates(obj)[0]
        derived[f"{obj['metadata']['name']}-head-svc"] = container_ports(head)
    for obj in r.of_kind("RayService"):
        derived[f"{obj['metadata']['name']}-serve-svc"] = {
            SERVE_PORT: SERVE_PORT,
            "serve": SERVE_PORT,
        }
    return derived


def env_value(r: Rendered, obj: Obj, env: Obj) -> str:
    """What an env entry holds: its value, or the rendered Secret's key it
    names (decoded), or "" when neither is known here."""
    if "value" in env:
        return str(env.get("value") or "")
    ref = dig(env, "valueFrom.secretKeyRef") or {}
    for secret in r.of_kind("Secret"):
        meta = secret.get("metadata") or {}
        if meta.get("name") == ref.get("name") and meta.get("namespace") == obj.get(
            "metadata", {}
        ).get("namespace"):
            if ref.get("key") in (secret.get("stringData") or {}):
                return str(secret["stringData"][ref["key"]])
            if ref.get("key") in (secret.get("data") or {}):
                return base64.b64decode(secret["data"][ref["key"]]).decode(errors="replace")
    return ""


def bucket_created(container: Obj) -> str | None:
    """The bucket a `python -m jobs.cli bucket create BUCKET ...` container makes
    (the bucket Job), or None for any other container."""
    argv = container_argv(container)
    if argv[1:5] == ["-m", "jobs.cli", "bucket", "create"] and len(argv) > 5:
        return argv[5]
    return None
