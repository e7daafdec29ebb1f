"""What ray101 refuses or cleans up on a cluster: an unlabelled pod kept off
MongoDB, a submission without the token refused, Tune's checkpoints in the S3
store and the Ray pods' S3 keys limited to that bucket, a routed dashboard
reached from its route's namespace only, the echo on every serve pod, a RayJob's driver stopped at its deadline.

Thin glue: each test gathers what the cluster returns and hands it to a judge
in tests/e2e/checks.py (tested against broken inputs in tests/repo/test_e2e_checks.py).
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from tests.e2e import checks
from tests.e2e.deployment import (
    HEAD_SVC,
    MONGO_STS,
    NAMESPACE,
    RAY_GROUP,
    RAY_VERSION,
    RAYCLUSTER,
    RAYJOB_PREFIX,
    SERVE_PORT,
    SERVE_SVC,
    wait_for,
)
from tools import chart
from tools.manifests import render
from tools.manifests.checks.lookups import runtime_env_vars

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

HEAD_SELECTOR = f"ray.io/cluster={RAYCLUSTER},ray.io/node-type=head"
CLIENT_LABEL = ("ray101/mongodb-client", "true")
# Long enough for the driver to be running at the deadline (KubeRay counts it
# from the RayJob's start, the driver's `timeout` from the driver's), short of Tune's run.
DEADLINE_S = 60


def _exec(kube, pod: str, command: list[str], container: str | None = None) -> str:
    kwargs = {"container": container} if container else {}
    return stream(
        kube.core.connect_get_namespaced_pod_exec,
        pod,
        NAMESPACE,
        command=command,
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        **kwargs,
    )


def _head_pod(kube):
    pods = kube.core.list_namespaced_pod(NAMESPACE, label_selector=HEAD_SELECTOR).items
    if not pods:
        pytest.fail(f"no head pod of RayCluster {NAMESPACE}/{RAYCLUSTER}")
    return pods[0]


def _python(kube, pod, script: str, *args: str) -> str:
    return _exec(kube, pod.metadata.name, ["python", "-c", script, *args], "ray-head")


def _probe(kube, image: str, labels: dict[str, str]) -> str:
    return _probe_to(kube, image, labels, f"{MONGO_STS}.{NAMESPACE}.svc", 27017)


def _probe_to(
    kube, image: str, labels: dict[str, str], host: str, port: int, namespace: str = NAMESPACE
) -> str:
    name = f"ray101-probe-{uuid.uuid4().hex[:8]}"
    kube.core.create_namespaced_pod(
        namespace, checks.probe_pod(name, namespace, image, labels, host, port)
    )
    try:

        def done():
            phase = kube.core.read_namespaced_pod(name, namespace).status.phase
            return phase in ("Succeeded", "Failed"), phase

        wait_for(f"probe pod {name} to finish", done, 180)
        return checks.probe_outcome(kube.core.read_namespaced_pod_log(name, namespace))
    finally:
        kube.core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)


def test_only_pods_with_the_client_label_reach_mongodb(kube, mongodb):
    image = _head_pod(kube).spec.containers[0].image
    base = {"app.kubernetes.io/instance": chart.RELEASE}
    unlabelled = _probe(kube, image, base)
    labelled = _probe(kube, image, {**base, CLIENT_LABEL[0]: CLIENT_LABEL[1]})
    assert checks.reachability_problems("MongoDB", unlabelled, labelled) == []


# The dashboard agent's port, which KubeRay sets on every Ray node.
WORKER_PORT = 52365
# Workers tried when the one picked stops listening (the autoscaler retires it).
WORKER_ATTEMPTS = 4


def _ready_workers(kube) -> list:
    selector = f"ray.io/cluster={RAYCLUSTER},ray.io/node-type=worker"
    return [
        p
        for p in kube.core.list_namespaced_pod(NAMESPACE, label_selector=selector).items
        if p.status.phase == "Running"
        and p.status.pod_ip
        and p.metadata.deletion_timestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    ]


def test_only_their_own_cluster_reaches_the_ray_workers(kube):
    """Issue 22 item 17: an unlabelled pod of the namespace times out on a
    worker's port; the head of the same cluster connects (the probe works).

    The autoscaler may retire an idle worker meanwhile: it drains the Ray node
    first (its agent stops listening: refused) and KubeRay deletes the pod
    after. So the head connects before and after the unlabelled probe, and a
    worker that stopped listening in between is replaced by another, a few times."""
    head = _head_pod(kube)
    image = head.spec.containers[0].image

    def own(ip: str) -> str:
        return checks.probe_outcome(
            _python(kube, head, checks.PROBE_SCRIPT, ip, str(WORKER_PORT), "10")
        )

    seen = []
    for _ in range(WORKER_ATTEMPTS):
        workers = _ready_workers(kube)
        if not workers:  # the autoscaler's replacement is still starting
            seen.append("no ready worker")
            time.sleep(10)
            continue
        ip = workers[0].status.pod_ip
        before, after = own(ip), "-"
        if before == "connected":
            unlabelled = _probe_to(kube, image, {}, ip, WORKER_PORT)
            after = own(ip)
            if after == "connected":
                assert (
                    checks.reachability_problems(f"worker {ip}:{WORKER_PORT}", unlabelled, after)
                    == []
                )
                return
        seen.append(f"{ip}: {before} before, {after} after")
        time.sleep(10)
    pytest.fail(
        f"no worker of RayCluster {NAMESPACE}/{RAYCLUSTER} kept listening on "
        f"{WORKER_PORT} through the probe: {seen}"
    )


# What scripts/e2e-kind's helm path adds: the dashboard routed through an Ingress.
ROUTE_VALUES = chart.REPO_ROOT / "scripts" / "kind" / "values-e2e-dashboard-route.yaml"
# A namespace that no route, operator or release pod lives in.
ELSEWHERE = "ray101-e2e-elsewhere"
DASHBOARD_PORT = 8265


def _namespace(kube, name: str) -> None:
    """Create ``name`` (Pod Security restricted) unless it exists. Left in place,
    empty: deleting it would race the next run's create."""
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
    }
    try:
        kube.core.create_namespace(body)
    except ApiException as exc:
        if exc.status != 409:
            raise

    def active():
        phase = kube.core.read_namespace(name).status.phase
        return phase == "Active", phase

    wait_for(f"namespace {name} to be Active", active, 120)


def test_a_routed_dashboard_is_reached_from_the_routes_namespace_only(kube):
    """Issue 22 item 6: with the dashboard routed through an Ingress, a pod in
    the ingress controller's namespace reaches the head's 8265, and a pod of
    another namespace times out (the head's NetworkPolicy)."""
    from kubernetes import client

    values = chart.merged(chart.load_values("values.yaml"), chart.load_values(str(ROUTE_VALUES)))
    host = values["ingress"]["dashboard"]["host"]
    ingresses = client.NetworkingV1Api(kube.api_client).list_namespaced_ingress(NAMESPACE).items
    if host not in {rule.host for i in ingresses for rule in i.spec.rules or []}:
        pytest.skip(
            f"no Ingress routes {host} here: the dashboard is routed on the helm path only "
            f"({ROUTE_VALUES.relative_to(chart.REPO_ROOT)})"
        )
    controller = values["ingress"]["controllerNamespace"]
    for name in (controller, ELSEWHERE):
        _namespace(kube, name)
    image = _head_pod(kube).spec.containers[0].image
    target = f"{HEAD_SVC}.{NAMESPACE}.svc"
    elsewhere = _probe_to(kube, image, {}, target, DASHBOARD_PORT, ELSEWHERE)
    routed = _probe_to(kube, image, {}, target, DASHBOARD_PORT, controller)
    assert (
        checks.reachability_problems(
            f"the dashboard {target}:{DASHBOARD_PORT} (from namespace {ELSEWHERE}, then {controller})",
            elsewhere,
            routed,
        )
        == []
    )


# POSTs a job without any token to the job API; prints the status and the body.
SUBMIT_WITHOUT_TOKEN = """
import json, sys, urllib.error, urllib.request
body = json.dumps({"entrypoint": "echo must-not-run"}).encode()
request = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(request, timeout=15) as reply:
        print(json.dumps([reply.status, reply.read().decode()[:300]]))
except urllib.error.HTTPError as exc:
    print(json.dumps([exc.code, exc.read().decode()[:300]]))
except OSError as exc:
    print(json.dumps([None, str(exc)]))
"""


def test_a_submission_without_the_token_is_refused(kube):
    url = f"http://{HEAD_SVC}.{NAMESPACE}.svc:8265/api/jobs/"
    out = _python(kube, _head_pod(kube), SUBMIT_WITHOUT_TOKEN, url)
    status, body = json.loads(out.strip().splitlines()[-1])
    assert checks.submission_problems(status, body) == []


def _tune_storage(kube) -> tuple[str, str]:
    """(RAY101_STORAGE_PATH without s3://, AWS_ENDPOINT_URL) of the tune RayJob."""
    job = kube.ray("rayjobs", f"{RAYJOB_PREFIX}tune")
    if job is None:
        pytest.fail(f"RayJob {NAMESPACE}/{RAYJOB_PREFIX}tune does not exist")
    env = runtime_env_vars(job)
    storage, endpoint = env.get("RAY101_STORAGE_PATH", ""), env.get("AWS_ENDPOINT_URL", "")
    if not storage.startswith("s3://") or not endpoint:
        pytest.fail(f"the tune RayJob does not write to the S3 store (runtime env: {env})")
    return storage.removeprefix("s3://"), endpoint


def test_tunes_checkpoints_are_in_the_bucket(kube):
    prefix, endpoint = _tune_storage(kube)
    out = _python(kube, _head_pod(kube), checks.LIST_BUCKET_SCRIPT, endpoint, prefix)
    assert checks.checkpoint_problems(out.split(), prefix) == []


def test_the_ray_pods_s3_keys_reach_tunes_bucket_only(kube):
    prefix, endpoint = _tune_storage(kube)
    bucket = prefix.split("/")[0]
    out = _python(kube, _head_pod(kube), checks.BUCKET_SCOPE_SCRIPT, endpoint, bucket)
    assert checks.bucket_scope_problems(json.loads(out.strip().splitlines()[-1])) == []


def test_the_echo_answers_from_every_serve_pod(kube):
    selector = kube.core.read_namespaced_service(SERVE_SVC, NAMESPACE).spec.selector or {}
    if not selector:
        pytest.fail(f"Service {SERVE_SVC} selects no pods")
    pods = kube.core.list_namespaced_pod(
        NAMESPACE, label_selector=",".join(f"{k}={v}" for k, v in selector.items())
    ).items
    url = f"http://127.0.0.1:{SERVE_PORT}/?data=Hello"
    answers = {
        pod.metadata.name: _exec(
            kube,
            pod.metadata.name,
            ["python", "-c", checks.ASK_SCRIPT, url],
            pod.spec.containers[0].name,
        ).strip()
        for pod in pods
    }
    assert checks.serve_problems(answers, "Received data: Hello") == []


# Reads one Ray job from the job API with the head's own token.
JOB_INFO = """
import json, os, sys, urllib.error, urllib.request
headers = {"Authorization": "Bearer " + os.environ.get("RAY_AUTH_TOKEN", "")}
request = urllib.request.Request("http://127.0.0.1:8265/api/jobs/" + sys.argv[1], headers=headers)
try:
    print(urllib.request.urlopen(request, timeout=15).read().decode())
except urllib.error.HTTPError as exc:
    print("null" if exc.code == 404 else json.dumps({"status": f"HTTP {exc.code}"}))
"""


def test_a_rayjob_past_its_deadline_has_its_ray_job_stopped(kube):
    # The chart's own tune RayJob at a short deadline, with a search that runs longer.
    # On the image the cluster runs (a tag per build: the chart's default tag
    # was never loaded into kind).
    deployed_tag = _head_pod(kube).spec.containers[0].image.rsplit(":", 1)[1]
    values = chart.merged(
        chart.load_values("values-kind.yaml") or {},
        {
            "image": {"tag": deployed_tag},
            "jobs": {
                "workloads": {
                    "tune": {
                        "activeDeadlineSeconds": DEADLINE_S,
                        # Far more epochs than DEADLINE_S allows on any machine
                        # (the kind values' 4 finished within 60 s on 2 cores).
                        "args": ["--num-samples", "4", "--max-epochs", "500", "--samples", "600"],
                    }
                }
            },
        },
    )
    job = render.render_chart("e2e:deadline", values).find("RayJob", f"{RAYJOB_PREFIX}tune")
    assert checks.deadline_wrapper_problems(job) == []
    name = f"{RAYJOB_PREFIX}deadline-probe"
    job["metadata"]["name"] = name
    plural = "rayjobs"
    kube.custom.create_namespaced_custom_object(RAY_GROUP, RAY_VERSION, NAMESPACE, plural, job)
    try:

        def failed():
            status = (kube.ray(plural, name) or {}).get("status") or {}
            return status.get("jobDeploymentStatus") == "Failed" and status.get("jobId"), status

        status = wait_for(f"RayJob {name} to fail at its deadline", failed, 600)
        head = _head_pod(kube)
        # timeout's SIGTERM ends the driver at the deadline, its SIGKILL 30 s later.
        deadline = time.monotonic() + 120
        while True:
            info = json.loads(
                _python(kube, head, JOB_INFO, status["jobId"]).strip().splitlines()[-1]
            )
            problems = checks.deadline_problems(status, info)
            if not problems or time.monotonic() > deadline:
                break
            time.sleep(5)
        assert problems == []
    finally:
        try:
            kube.custom.delete_namespaced_custom_object(
                RAY_GROUP, RAY_VERSION, NAMESPACE, plural, name
            )
        except ApiException as exc:
            if exc.status != 404:
                raise
