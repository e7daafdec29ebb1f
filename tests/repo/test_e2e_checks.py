"""The e2e failure-path checks (tests/e2e/checks.py) fail for the right reason.

Each judge gets the chart's rendering or the answer a healthy cluster gives,
then a deliberately broken one: the NetworkPolicy removed or its selector
wrong, a RayJob without its timeout wrapper, one serve pod failing, an empty
bucket listing, a submission accepted without a token. No cluster needed.
"""

from __future__ import annotations

import copy

import pytest

from tests.e2e import checks
from tools import chart
from tools.manifests import render
from tools.manifests.model import pod_templates

CLIENT_LABEL = ("ray101/mongodb-client", "true")
PROBE_BASE = {"app.kubernetes.io/instance": chart.RELEASE}


@pytest.fixture(scope="module")
def rendering():
    return render.render_chart("helm:default")


def _mongo(rendering):
    sts = rendering.find("StatefulSet", f"{chart.RELEASE}-mongodb")
    return pod_templates(sts)[0].labels


def _isolation(objects, mongo_labels):
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    return checks.isolation_problems(
        policies, "MongoDB", mongo_labels, 27017, CLIENT_LABEL, PROBE_BASE, chart.NAMESPACE
    )


def test_the_chart_keeps_an_unlabelled_pod_off_mongodb(rendering):
    assert _isolation(rendering.all_objects(), _mongo(rendering)) == []


def test_a_rendering_without_the_mongodb_policy_is_caught(rendering):
    objects = [
        o
        for o in rendering.all_objects()
        if not (o["kind"] == "NetworkPolicy" and o["metadata"]["name"].endswith("-mongodb"))
    ]
    problems = _isolation(objects, _mongo(rendering))
    assert len(problems) == 1 and "without ray101/mongodb-client=true may open" in problems[0]


def test_a_mongodb_policy_selecting_other_pods_is_caught(rendering):
    objects = copy.deepcopy(rendering.all_objects())
    policy = next(
        o
        for o in objects
        if o["kind"] == "NetworkPolicy" and o["metadata"]["name"].endswith("-mongodb")
    )
    policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] = "not-mongodb"
    assert (
        "without ray101/mongodb-client=true may open" in _isolation(objects, _mongo(rendering))[0]
    )


def test_a_mongodb_policy_admitting_no_one_is_caught(rendering):
    objects = copy.deepcopy(rendering.all_objects())
    policy = next(
        o
        for o in objects
        if o["kind"] == "NetworkPolicy" and o["metadata"]["name"].endswith("-mongodb")
    )
    policy["spec"]["ingress"] = []
    assert _isolation(objects, _mongo(rendering)) == [
        "a pod with ray101/mongodb-client=true may not open MongoDB's port 27017"
    ]


def test_the_probe_pod_meets_pod_security_restricted():
    pod = checks.probe_pod("probe", "ns", "img:1", {"a": "b"}, "host", 27017)
    spec = pod["spec"]
    (container,) = spec["containers"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["command"][-3:] == ["host", "27017", "10"]


def _run_probe(port: int) -> str:
    import subprocess
    import sys

    argv = [sys.executable, "-c", checks.PROBE_SCRIPT, "127.0.0.1", str(port), "5"]
    return checks.probe_outcome(
        subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    )


def test_the_probe_script_reports_what_a_connect_did():
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert _run_probe(port) == "connected"
    # The listener is closed: the port refuses.
    assert _run_probe(port).startswith("error:")


def test_reachability_is_judged_by_both_probes():
    assert checks.reachability_problems("MongoDB", "timed out", "connected") == []
    assert "reached MongoDB" in checks.reachability_problems("MongoDB", "connected", "connected")[0]
    # A refusal is not the NetworkPolicy (it drops): the probe hit something else.
    assert (
        "did not time out"
        in checks.reachability_problems("MongoDB", "error: refused", "connected")[0]
    )
    assert "proves nothing" in checks.reachability_problems("MongoDB", "timed out", "timed out")[0]
    assert checks.probe_outcome("") == "(no output)"


def test_a_submission_accepted_without_a_token_is_caught():
    assert checks.submission_problems(401, "Unauthorized: Missing authentication token") == []
    assert checks.submission_problems(403, "Forbidden") == []
    assert "accepted a submission" in checks.submission_problems(200, '{"job_id": "x"}')[0]
    assert "not for the token" in checks.submission_problems(None, "connection refused")[0]
    assert "not for the token" in checks.submission_problems(500, "Internal Server Error")[0]


def test_an_empty_bucket_listing_is_caught():
    prefix = "ray101-tune/ray101"
    good = [f"{prefix}/tune/trial_0/checkpoint_000001/model.pt", f"{prefix}/tune/state.json"]
    assert checks.checkpoint_problems(good, prefix) == []
    assert "nothing under" in checks.checkpoint_problems([], prefix)[0]
    assert "nothing under" in checks.checkpoint_problems(["other/checkpoint_0/x"], prefix)[0]
    assert (
        "none in a checkpoint_*" in checks.checkpoint_problems([f"{prefix}/state.json"], prefix)[0]
    )


def test_s3_keys_beyond_the_bucket_or_short_of_it_are_caught():
    scoped = dict(checks.BUCKET_SCOPE)
    assert checks.bucket_scope_problems(scoped) == []
    root = dict.fromkeys(checks.BUCKET_SCOPE, "ok")
    assert [p for p in checks.bucket_scope_problems(root) if "not limited" in p] == [
        "the Ray pods' S3 keys may create another bucket: they are not limited to the bucket",
        "the Ray pods' S3 keys may see another bucket: they are not limited to the bucket",
    ]
    too_tight = {**scoped, "write in the bucket": "denied"}
    assert checks.bucket_scope_problems(too_tight) == [
        "the Ray pods' S3 keys may not write in the bucket: Tune cannot use its storage"
    ]
    unreachable = {**scoped, "create another bucket": "error: connection refused"}
    assert checks.bucket_scope_problems(unreachable) == [
        "create another bucket: error: connection refused (expected denied)"
    ]
    assert "not tried" in checks.bucket_scope_problems({})[0]


def test_the_bucket_scope_script_reads_s3_refusals_as_denied():
    """The probe script against an endpoint that refuses everything with S3's
    AccessDenied: pyarrow's errors are read as "denied", not as failures."""
    import http.server
    import json
    import subprocess
    import sys
    import threading

    from tests.support import REPO_ROOT

    class Refuse(http.server.BaseHTTPRequestHandler):
        def _refuse(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b"<Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>"
            self.send_response(403)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _refuse  # noqa: N815

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                checks.BUCKET_SCOPE_SCRIPT,
                f"http://127.0.0.1:{server.server_port}",
                "ray101-tune",
            ],
            env={
                "PATH": "/usr/bin:/bin",
                "AWS_ACCESS_KEY_ID": "k",
                "AWS_SECRET_ACCESS_KEY": "s",
                "AWS_EC2_METADATA_DISABLED": "true",
            },
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == dict.fromkeys(checks.BUCKET_SCOPE, "denied")


def test_one_failing_serve_pod_is_caught():
    want = "Received data: Hello"
    assert checks.serve_problems({"head": want, "worker-1": want}, want) == []
    problems = checks.serve_problems({"head": want, "worker-1": "error: timed out"}, want)
    assert problems == [
        "serve pod worker-1 answered 'error: timed out', expected 'Received data: Hello'"
    ]
    assert checks.serve_problems({}, want) == ["no serve pods to ask"]


def test_every_rendered_rayjob_has_the_deadline_wrapper(rendering):
    jobs = rendering.of_kind("RayJob")
    assert jobs
    assert [p for job in jobs for p in checks.deadline_wrapper_problems(job)] == []


def test_a_rayjob_without_the_timeout_wrapper_is_caught(rendering):
    job = copy.deepcopy(rendering.of_kind("RayJob")[0])
    job["spec"]["entrypoint"] = (
        job["spec"]["entrypoint"].split(" python ", 1)[0].replace("timeout", "nice")
        + " python -m jobs.dag"
    )
    assert "does not run under `timeout" in checks.deadline_wrapper_problems(job)[0]
    longer = copy.deepcopy(rendering.of_kind("RayJob")[0])
    deadline = longer["spec"]["activeDeadlineSeconds"]
    longer["spec"]["entrypoint"] = f"timeout {deadline * 2} python -m jobs.dag"
    assert "does not run under `timeout" in checks.deadline_wrapper_problems(longer)[0]


def test_a_ray_job_still_running_past_its_deadline_is_caught():
    failed = {"jobDeploymentStatus": "Failed", "reason": "DeadlineExceeded"}
    assert checks.deadline_problems(failed, {"status": "STOPPED", "end_time": 1}) == []
    assert checks.deadline_problems(failed, {"status": "FAILED", "end_time": 1}) == []
    running = checks.deadline_problems(failed, {"status": "RUNNING", "end_time": None})
    assert running == ["the Ray job is still RUNNING past the deadline: its driver runs on"]
    assert "no end time" in checks.deadline_problems(failed, {"status": "STOPPED"})[0]
    assert (
        "not Failed"
        in checks.deadline_problems(
            {"jobDeploymentStatus": "Running"}, {"status": "STOPPED", "end_time": 1}
        )[0]
    )
    assert "no record" in checks.deadline_problems(failed, None)[0]
    # A job that ended on its own says nothing about the deadline.
    assert (
        "proves nothing"
        in checks.deadline_problems(failed, {"status": "SUCCEEDED", "end_time": 1})[0]
    )


def test_pods_on_another_build_than_this_ones_are_caught():
    images = {"ray101-head-x": "ray101:0.1.0-abc", "ray101-mongodb-0": "mongo:8.0"}
    assert checks.image_tag_problems(images, "0.1.0-abc") == []
    stale = {**images, "ray101-cpu-worker-y": "ray101:0.1.0"}
    assert checks.image_tag_problems(stale, "0.1.0-abc") == [
        "pod ray101-cpu-worker-y runs ray101:0.1.0, not this build's ray101:0.1.0-abc"
    ]
    assert "no pod runs" in checks.image_tag_problems({"m": "mongo:8.0"}, "x")[0]


def test_an_operator_namespace_the_head_policy_keeps_out_is_caught(rendering):
    policy = rendering.find("NetworkPolicy", f"{chart.RELEASE}-head")
    assert checks.operator_namespace_problems(policy, "kuberay-system") == []
    assert "'default'" in checks.operator_namespace_problems(policy, "default")[0]
    moved = render.render_chart(
        "helm:default", {"ray": {"networkPolicy": {"operatorNamespace": "default"}}}
    ).find("NetworkPolicy", f"{chart.RELEASE}-head")
    assert checks.operator_namespace_problems(moved, "default") == []


def test_kind_workers_offering_the_whole_vm_each_are_caught():
    gib = 2**30
    assert checks.allocatable_problems({"w1": 5 * gib, "w2": 5 * gib}, 12 * gib) == []
    found = checks.allocatable_problems({"w1": 12 * gib, "w2": 12 * gib}, 12 * gib)
    assert "24.0 GiB together on a 12.0 GiB" in found[0]
