"""ray101 on a cluster: MongoDB, the data load, the RayCluster, every RayJob,
the echo RayService, and MongoDB's data surviving a restart.

The same checks as the end of scripts/e2e-kind, through the Kubernetes API
(CustomObjectsApi for the ray.io objects). The MongoDB restart test goes last.
"""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from jobs import registry
from tests.e2e.deployment import (
    LOADER_JOB,
    MONGO_DB,
    MONGO_POD,
    MONGO_STS,
    NAMESPACE,
    RAYCLUSTER,
    RAYJOB_PREFIX,
    RAYSERVICE,
    SERVE_PORT,
    SERVE_SVC,
    TIMEOUT_S,
    Finished,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(TIMEOUT_S + 120)]

BATCH_WORKLOADS = [w.name for w in registry.WORKLOADS.values() if w.rayjob]


def _condition(obj: dict | None, kind: str) -> str | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond.get("status")
    return None


def test_mongodb_statefulset_is_ready(kube, mongodb):
    def probe():
        sts = kube.apps.read_namespaced_stateful_set(MONGO_STS, NAMESPACE)
        want, ready = sts.spec.replicas or 0, sts.status.ready_replicas or 0
        return want > 0 and ready == want, f"{ready}/{want} replicas ready"

    wait_for(f"StatefulSet {NAMESPACE}/{MONGO_STS} to be ready", probe)


def test_loader_job_completed(kube, mongodb):
    def probe():
        try:
            job = kube.batch.read_namespaced_job(LOADER_JOB, NAMESPACE)
        except ApiException as exc:
            if exc.status == 404:
                raise Finished(f"Job {NAMESPACE}/{LOADER_JOB} does not exist") from None
            raise
        conditions = {c.type: c for c in job.status.conditions or []}
        if "Failed" in conditions and conditions["Failed"].status == "True":
            raise Finished(f"the loader Job failed: {conditions['Failed'].message}")
        done = "Complete" in conditions and conditions["Complete"].status == "True"
        return done, f"succeeded={job.status.succeeded} failed={job.status.failed}"

    wait_for(f"Job {NAMESPACE}/{LOADER_JOB} to complete", probe)


def test_raycluster_is_ready(kube):
    def probe():
        cluster = kube.ray("rayclusters", RAYCLUSTER)
        if cluster is None:
            raise Finished(f"RayCluster {NAMESPACE}/{RAYCLUSTER} does not exist")
        status = cluster.get("status") or {}
        # The conditions KubeRay sets, or the older status.state.
        ready = status.get("state") == "ready" or (
            _condition(cluster, "HeadPodReady") == "True"
            and _condition(cluster, "RayClusterProvisioned") == "True"
        )
        return ready, {
            "state": status.get("state"),
            "HeadPodReady": _condition(cluster, "HeadPodReady"),
            "readyWorkerReplicas": status.get("readyWorkerReplicas"),
        }

    wait_for(f"RayCluster {NAMESPACE}/{RAYCLUSTER} to be ready", probe)


@pytest.mark.parametrize("workload", BATCH_WORKLOADS)
def test_rayjob_succeeds(kube, workload, request):
    if workload == "mongo":
        request.getfixturevalue("mongodb")
    name = f"{RAYJOB_PREFIX}{workload}"

    def probe():
        job = kube.ray("rayjobs", name)
        if job is None:
            raise Finished(f"RayJob {NAMESPACE}/{name} does not exist")
        status = job.get("status") or {}
        deployment, state = status.get("jobDeploymentStatus"), status.get("jobStatus")
        if deployment == "Complete" and state == "SUCCEEDED":
            return True, status
        # Final states; a FAILED jobStatus while Running or Retrying may still be retried.
        if deployment in ("Complete", "Failed", "ValidationFailed"):
            raise Finished(
                f"jobDeploymentStatus={deployment} jobStatus={state}: {status.get('message', '')}"
            )
        return False, f"jobDeploymentStatus={deployment} jobStatus={state}"

    wait_for(f"RayJob {NAMESPACE}/{name} to complete with SUCCEEDED", probe)


def test_echo_service_answers(kube):
    def ready():
        service = kube.ray("rayservices", RAYSERVICE)
        if service is None:
            raise Finished(f"RayService {NAMESPACE}/{RAYSERVICE} does not exist")
        return _condition(service, "Ready") == "True", (service.get("status") or {}).get(
            "conditions"
        )

    wait_for(f"RayService {NAMESPACE}/{RAYSERVICE} to be Ready", ready)

    # Through the API server's service proxy: no port-forward needed.
    method, url, headers, body, post = kube.api_client.param_serialize(
        method="GET",
        resource_path=f"/api/v1/namespaces/{NAMESPACE}/services/{SERVE_SVC}:{SERVE_PORT}/proxy/",
        query_params=[("data", "Hello")],
        header_params={"Accept": "*/*"},
        auth_settings=["BearerToken"],
    )

    def answer():
        response = kube.api_client.call_api(method, url, headers, body, post, 15)
        text = response.read().decode(errors="replace")
        # The proxy can answer 503 for a moment after Ready, until the endpoints update.
        return response.status == 200, (response.status, text[:200])

    _, text = wait_for(f"an answer from service {SERVE_SVC}:{SERVE_PORT}", answer, 120)
    assert text == "Received data: Hello"


def _mongo_count(kube) -> int:
    # With mongosh (the mongo image) the credentials are the container's own
    # (from the Secret ray101-mongodb): an exec command travels in the API
    # request, so a password there would end up in the API server's and
    # kubelet's logs. The nx-27017 stand-in (scripts/kind/values-mongodb-standin.yaml)
    # has no mongosh and no authentication: its own Python and pymongo count.
    count = (
        "if command -v mongosh >/dev/null; then exec mongosh --quiet --norc "
        '--username "$MONGO_INITDB_ROOT_USERNAME" --password "$MONGO_INITDB_ROOT_PASSWORD" '
        '--authenticationDatabase admin --eval "$0"; else exec python3 -c "$1"; fi'
    )
    mongosh = (
        f"const d = db.getSiblingDB('{MONGO_DB}'); "
        "print(d.getCollectionNames().reduce((n, c) => n + d.getCollection(c).countDocuments({}), 0))"
    )
    python = (
        "import pymongo; "
        "d = pymongo.MongoClient('127.0.0.1', 27017, directConnection=True)"
        f"['{MONGO_DB}']; "
        "print(sum(d[c].count_documents({}) for c in d.list_collection_names()))"
    )
    out = stream(
        kube.core.connect_get_namespaced_pod_exec,
        MONGO_POD,
        NAMESPACE,
        command=["sh", "-c", count, mongosh, python],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
    )
    last = out.strip().splitlines()[-1] if out.strip() else ""
    if not last.isdigit():
        pytest.fail(f"{MONGO_POD} printed no document count: {out!r}")
    return int(last)


def test_mongodb_keeps_its_data_across_a_pod_restart(kube, mongodb):
    before = _mongo_count(kube)
    assert before > 0, f"no documents in {MONGO_DB}: did the loader Job run?"
    old_uid = kube.core.read_namespaced_pod(MONGO_POD, NAMESPACE).metadata.uid

    kube.core.delete_namespaced_pod(MONGO_POD, NAMESPACE)

    def replaced_and_ready():
        try:
            pod = kube.core.read_namespaced_pod(MONGO_POD, NAMESPACE)
        except ApiException as exc:
            if exc.status == 404:
                return False, "deleted, not yet recreated"
            raise
        ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
        return pod.metadata.uid != old_uid and ready, f"uid={pod.metadata.uid} ready={ready}"

    wait_for(f"pod {NAMESPACE}/{MONGO_POD} to come back Ready", replaced_and_ready, 600)
    assert _mongo_count(kube) == before
