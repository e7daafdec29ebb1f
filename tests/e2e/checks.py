"""How the end-to-end failure-path checks judge what a cluster returned.

Pure functions, no cluster: each takes what kubectl, an exec or the job API
returned (or the rendered objects) and gives the problems found, empty when
all is well. tests/e2e/test_failure_paths.py feeds them from a live cluster;
tests/repo/test_e2e_checks.py feeds them deliberately broken inputs, so each check
is known to fail for the right reason.
"""

from __future__ import annotations

from tools.manifests.checks.lookups import driver_timeout
from tools.manifests.checks.network import admitted

Obj = dict

# --- NetworkPolicy: who reaches a port -------------------------------------


def isolation_problems(
    policies: list[Obj],
    target: str,
    target_labels: dict[str, str],
    port: int,
    client_label: tuple[str, str],
    base_labels: dict[str, str],
    namespace: str | None = None,
) -> list[str]:
    """The rendered policies keep a pod without ``client_label`` off ``port``
    and let the same pod with the label in."""
    problems = []
    key, value = client_label
    if admitted(policies, target_labels, base_labels, port, namespace):
        problems.append(
            f"a pod without {key}={value} may open {target}'s port {port}: "
            "no NetworkPolicy selects it, or its rules admit every pod"
        )
    if not admitted(policies, target_labels, {**base_labels, key: value}, port, namespace):
        problems.append(f"a pod with {key}={value} may not open {target}'s port {port}")
    return problems


# The probe pod: one TCP connect, its outcome as the last line of its log.
PROBE_SCRIPT = """
import socket, sys
host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
try:
    socket.create_connection((host, port), timeout=timeout).close()
    print("connected")
except socket.timeout:
    print("timed out")
except OSError as exc:
    print(f"error: {exc}")
"""


def probe_pod(
    name: str, namespace: str, image: str, labels: dict[str, str], host: str, port: int
) -> Obj:
    """A short-lived pod that tries one TCP connect; Pod Security restricted."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 1000,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "connect",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python", "-c", PROBE_SCRIPT, host, str(port), "10"],
                    "resources": {
                        "requests": {"cpu": "50m", "memory": "64Mi"},
                        "limits": {"cpu": "200m", "memory": "128Mi"},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }


def probe_outcome(log: str) -> str:
    """connected, timed out, error: ..., or what the pod printed instead."""
    lines = log.strip().splitlines()
    return lines[-1] if lines else "(no output)"


def reachability_problems(target: str, unlabelled: str, labelled: str) -> list[str]:
    """The unlabelled probe must time out (NetworkPolicy drops, it does not
    refuse) and the labelled one connect (else the probe itself is broken)."""
    problems = []
    if unlabelled == "connected":
        problems.append(
            f"a pod without the client label reached {target}: the NetworkPolicy is missing "
            "or the network plugin does not enforce NetworkPolicy"
        )
    elif unlabelled != "timed out":
        problems.append(f"the unlabelled probe did not time out but ended with {unlabelled!r}")
    if labelled != "connected":
        problems.append(
            f"the probe with the client label could not reach {target} ({labelled!r}): "
            "the probe proves nothing"
        )
    return problems


# --- Ray token auth ----------------------------------------------------------


def submission_problems(status: int | None, body: str) -> list[str]:
    """A job submission without the token must be refused by the job API for
    the token (401 missing, 403 invalid), not accepted nor lost otherwise."""
    if status in (401, 403):
        return []
    if status is not None and 200 <= status < 300:
        return [f"the job API accepted a submission without the cluster's token ({status}: {body})"]
    return [f"the submission without a token failed, but not for the token ({status}: {body})"]


# --- Tune's checkpoints in the S3 store ---------------------------------------


def checkpoint_problems(keys: list[str], prefix: str) -> list[str]:
    """Tune's trials left checkpoint files under the storage path's prefix."""
    under = [k for k in keys if k.startswith(prefix)]
    if not under:
        return [f"nothing under {prefix} in the bucket ({len(keys)} objects elsewhere)"]
    if not any("/checkpoint_" in k for k in under):
        return [f"{len(under)} objects under {prefix}, none in a checkpoint_* folder"]
    return []


# Lists every object of a bucket (pyarrow's S3 client, the one Tune uses), one per line.
LIST_BUCKET_SCRIPT = """
import sys
from pyarrow import fs
s3 = fs.S3FileSystem(endpoint_override=sys.argv[1], region="us-east-1")
for info in s3.get_file_info(fs.FileSelector(sys.argv[2], recursive=True)):
    if info.type == fs.FileType.File:
        print(info.path)
"""


# --- What the Ray pods' S3 keys may do ---------------------------------------

# Each operation and what the Tune identity's keys must get: its own bucket
# yes, anything beyond it refused for permissions (not failing some other way).
# SeaweedFS answers ListBuckets with the buckets the caller may use, so "see
# another bucket" is denied when the listing is refused or shows its own only.
BUCKET_SCOPE = {
    "write in the bucket": "ok",
    "delete in the bucket": "ok",
    "create another bucket": "denied",
    "see another bucket": "denied",
}


def bucket_scope_problems(outcome: dict[str, str]) -> list[str]:
    """The Ray pods' keys read and write Tune's bucket and are refused the rest."""
    problems = []
    for operation, wanted in BUCKET_SCOPE.items():
        got = outcome.get(operation, "not tried")
        if got == wanted:
            continue
        if wanted == "denied" and got == "ok":
            problems.append(
                f"the Ray pods' S3 keys may {operation}: they are not limited to the bucket"
            )
        elif got == "denied":
            problems.append(
                f"the Ray pods' S3 keys may not {operation}: Tune cannot use its storage"
            )
        else:
            problems.append(f"{operation}: {got} (expected {wanted})")
    return problems


# With the S3 keys of the pod it runs in (pyarrow, Tune's client): tries each
# operation of BUCKET_SCOPE and prints {operation: "ok" | "denied" | "error: ..."}.
BUCKET_SCOPE_SCRIPT = """
import json, sys, uuid
from pyarrow import fs
endpoint, bucket = sys.argv[1], sys.argv[2]
s3 = fs.S3FileSystem(endpoint_override=endpoint, region="us-east-1", allow_bucket_creation=True)
probe = f"{bucket}/e2e-scope-probe/{uuid.uuid4().hex}"
def attempt(action):
    try:
        action()
        return "ok"
    except OSError as exc:
        text = str(exc).upper().replace("_", "")
        return "denied" if "ACCESSDENIED" in text or "403" in text else f"error: {str(exc)[:200]}"
def write():
    with s3.open_output_stream(probe) as out:
        out.write(b"probe")
def see_another():
    seen = {i.path for i in s3.get_file_info(fs.FileSelector("/"))} - {bucket}
    if not seen:
        raise OSError("AccessDenied: no bucket but its own listed")
print(json.dumps({
    "write in the bucket": attempt(write),
    "delete in the bucket": attempt(lambda: s3.delete_file(probe)),
    "create another bucket": attempt(lambda: s3.create_dir(f"ray101-e2e-{uuid.uuid4().hex[:8]}")),
    "see another bucket": attempt(see_another),
}))
"""


# --- The echo on every serve pod ---------------------------------------------


def serve_problems(answers: dict[str, str], expected: str) -> list[str]:
    """Every serve pod answered ``expected``; no pods at all is a failure."""
    if not answers:
        return ["no serve pods to ask"]
    return [
        f"serve pod {pod} answered {answer!r}, expected {expected!r}"
        for pod, answer in sorted(answers.items())
        if answer != expected
    ]


# Asks the Serve proxy of the pod it runs in; prints the reply or the error.
ASK_SCRIPT = """
import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())
except Exception as exc:
    print(f"error: {exc}")
"""


# --- RayJob deadlines ----------------------------------------------------------


def deadline_wrapper_problems(rayjob: Obj) -> list[str]:
    """The driver runs under `timeout` no longer than the RayJob's deadline."""
    spec = rayjob.get("spec") or {}
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is None:
        return [f"RayJob {rayjob['metadata']['name']} has no activeDeadlineSeconds"]
    limit = driver_timeout(spec.get("entrypoint", ""))
    if limit is None or limit > deadline:
        return [
            f"RayJob {rayjob['metadata']['name']}'s driver does not run under "
            f"`timeout {deadline}`: its Ray job would outlive the deadline"
        ]
    return []


FINISHED_RAY_JOB = ("STOPPED", "FAILED")


def deadline_problems(rayjob_status: Obj, job: Obj | None) -> list[str]:
    """Past its deadline the RayJob is Failed and its Ray job (the job API's
    record) has ended: STOPPED or FAILED with an end time, so no driver runs."""
    problems = []
    if rayjob_status.get("jobDeploymentStatus") != "Failed":
        problems.append(
            f"the RayJob is {rayjob_status.get('jobDeploymentStatus')!r}, not Failed, past its deadline"
        )
    if job is None:
        return [*problems, "the job API has no record of the RayJob's Ray job"]
    status = job.get("status")
    if status == "SUCCEEDED":
        problems.append(
            "the Ray job succeeded before its timeout: this proves nothing, use a shorter deadline"
        )
    elif status not in FINISHED_RAY_JOB:
        problems.append(f"the Ray job is still {status} past the deadline: its driver runs on")
    elif not job.get("end_time"):
        problems.append(f"the Ray job is {status} but has no end time: its driver may run on")
    return problems


# --- The deployment's shape (tests/e2e/test_cluster_shape.py) ---------------


def image_tag_problems(images: dict[str, str], tag: str, repository: str = "ray101") -> list[str]:
    """Every pod running the project image runs this build's tag: a fixed tag
    with IfNotPresent lets a rebuilt image restart nothing."""
    mine = {pod: image for pod, image in images.items() if image.split(":")[0] == repository}
    if not mine:
        return [f"no pod runs the {repository} image"]
    return [
        f"pod {pod} runs {image}, not this build's {repository}:{tag}"
        for pod, image in sorted(mine.items())
        if image != f"{repository}:{tag}"
    ]


def operator_namespace_problems(policy: Obj, operator_namespace: str) -> list[str]:
    """The head's NetworkPolicy lets the KubeRay operator's namespace onto the
    job API: elsewhere the RayJobs fail after 300 s."""
    head = {
        "ray.io/node-type": "head",
        **((policy.get("spec") or {}).get("podSelector") or {}).get("matchLabels", {}),
    }
    if admitted([policy], head, {}, 8265, "ray101", operator_namespace):
        return []
    return [
        f"the head's NetworkPolicy does not let the operator's namespace "
        f"{operator_namespace!r} reach the job API (8265)"
    ]


def allocatable_problems(workers: dict[str, int], vm_bytes: int) -> list[str]:
    """The kind workers' allocatable memory adds up to no more than the docker
    VM: every kind node reports the whole VM unless it reserves the rest."""
    total = sum(workers.values())
    if total <= vm_bytes:
        return []
    return [
        f"the workers offer {total / 2**30:.1f} GiB together on a {vm_bytes / 2**30:.1f} GiB "
        "docker VM: requests do not gate scheduling (systemReserved missing?)"
    ]
