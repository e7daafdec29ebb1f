"""GCS fault tolerance with a real Redis: the GCS dies while work runs and comes back.

As in Ray's own ``test_gcs_fault_tolerance.py``: a head whose GCS keeps its
state in a password-protected redis-server and one worker raylet; the GCS is
killed with SIGKILL, stays down for ``DOWN_S`` (a head pod being replaced),
and is started again on the same port. One outage serves every test of the
module: a detached Counter, a job submitted through the job API and the echo
Serve application are all running when the GCS dies.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field

import pytest
import ray
import requests
from ray import serve
from ray.exceptions import RayError
from ray.job_submission import JobStatus, JobSubmissionClient

from jobs.counter import Counter
from jobs.echo import lifecycle
from jobs.echo.config import DEFAULT_HOST
from jobs.echo.parsing import reply_text
from jobs.runtime import ray_internals
from jobs.runtime.connect import Connection
from jobs.runtime.ports import free_port
from tests.servers.redis import redis_server

pytestmark = pytest.mark.slow

# Seconds the GCS stays down. A real head pod takes longer to come back;
# raylets wait for it up to RAY_gcs_rpc_server_reconnect_timeout_s (60 s,
# 600 s on KubeRay workers with GCS fault tolerance on).
DOWN_S = 3.0
COUNTER_NAME, NAMESPACE = "ray101-ha-counter", "ray101-ha"
# A workload of the project that runs for about 8 s: 4 sequential 1.5 s
# retrievals, then 4 in parallel.
JOB_ENTRYPOINT = f"{sys.executable} -m jobs.retrieve --json --items 4 --delay 1.5"
JOB_TIMEOUT_S = 120.0
# The load: one request at a time, a few milliseconds apart. The timeout is
# generous: a reply that is slow on a busy 2-core machine is still an answer.
REQUEST_GAP_S = 0.02
REQUEST_TIMEOUT_S = 15.0

# The tests' driver joined a `ray start` cluster on this machine.
JOINED = Connection(address=None, embedded=False, client=False)


@dataclass
class EchoLoad:
    """Sends ``GET ?data=N`` in a loop and records when each was sent and how it ended."""

    url: str
    sent: list[tuple[float, bool]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        with requests.Session() as session:
            n = 0
            while not self._stop.is_set():
                at = time.monotonic()
                try:
                    reply = session.get(
                        self.url, params={"data": str(n)}, timeout=REQUEST_TIMEOUT_S
                    )
                    ok = reply.status_code == 200 and reply.text == reply_text(str(n))
                    if not ok:
                        self.failures.append(f"{reply.status_code} {reply.text[:60]!r}")
                except requests.RequestException as exc:
                    ok = False
                    self.failures.append(type(exc).__name__)
                self.sent.append((at, ok))
                n += 1
                time.sleep(REQUEST_GAP_S)

    def __enter__(self) -> EchoLoad:
        self._thread = threading.Thread(target=self._run, name="echo-load", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(REQUEST_TIMEOUT_S + 1)

    def between(self, start: float, end: float) -> tuple[int, int]:
        """Requests sent in [start, end) and how many of them were answered correctly."""
        window = [ok for at, ok in self.sent if start <= at < end]
        return len(window), sum(window)


@dataclass
class Outage:
    seconds: float  # from SIGKILL until the new GCS answered
    counter_before: int
    counter_during: int | None  # an existing actor, called while the GCS was down
    counter_after: int  # looked up by name through the new GCS
    job_status_at_kill: JobStatus
    job_status: JobStatus
    job_result: dict | None
    echo_sent: int
    echo_answered: int
    echo_total: int
    echo_failures: list[str]
    proxies: int  # Serve proxies on the cluster's nodes
    stop_s: float  # from asking Serve to stop until its controller was gone


def gcs_answers(timeout_s: float = 0.5) -> bool:
    """Whether the GCS answers a key-value read (what every Ray client needs first)."""
    try:
        ray_internals.gcs_kv_get(b"ray101-probe", b"ray101", timeout_s)
        return True
    except (RayError, TimeoutError, ConnectionError):
        return False


def wait_for(what: str, condition, timeout_s: float, every_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(every_s)
    return value


def job_driver_connected(client: JobSubmissionClient, job_id: str) -> bool:
    return any(j.submission_id == job_id and j.driver_info for j in client.list_jobs())


def last_json_line(text: str) -> dict | None:
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None


@pytest.fixture(scope="module")
def outage(ha_cluster) -> Outage:
    counter = Counter.options(name=COUNTER_NAME, namespace=NAMESPACE, lifetime="detached").remote()
    running = lifecycle.start(DEFAULT_HOST, free_port(), JOINED)
    try:
        before = ray.get(counter.increment.remote(5))
        client = JobSubmissionClient(ha_cluster.dashboard_url)
        job_id = client.submit_job(entrypoint=JOB_ENTRYPOINT)
        wait_for("the job's driver joined", lambda: job_driver_connected(client, job_id), 60)
        with EchoLoad(running.url) as load:
            time.sleep(1.0)  # requests flow, the job's tasks run
            status_at_kill = client.get_job_status(job_id)
            killed_at = time.monotonic()
            gcs = ha_cluster.kill_gcs()
            during_ref = counter.increment.remote(1)
            time.sleep(DOWN_S)
            ha_cluster.start_gcs(gcs)
            wait_for("the restarted GCS answers", gcs_answers, 60, every_s=0.05)
            back_at = time.monotonic()
            time.sleep(1.0)  # and a while after
        during = ray.get(during_ref, timeout=30)
        after = ray.get(ray.get_actor(COUNTER_NAME, namespace=NAMESPACE).increment.remote(0))
        status = wait_for(
            "the job ended",
            lambda: (s := client.get_job_status(job_id)).is_terminal() and s,
            JOB_TIMEOUT_S,
            every_s=0.5,
        )
        sent, answered = load.between(killed_at, back_at)
        proxies = len(serve.status().proxies)
        stopping_at = time.monotonic()
        lifecycle.stop(running)
        stop_s, running = time.monotonic() - stopping_at, None
        return Outage(
            seconds=back_at - killed_at,
            counter_before=before,
            counter_during=during,
            counter_after=after,
            job_status_at_kill=status_at_kill,
            job_status=status,
            job_result=last_json_line(client.get_job_logs(job_id)),
            echo_sent=sent,
            echo_answered=answered,
            echo_total=len(load.sent),
            echo_failures=load.failures,
            proxies=proxies,
            stop_s=stop_s,
        )
    finally:
        if running is not None:
            lifecycle.stop(running)
        ray.kill(counter)


def test_detached_counter_keeps_its_state(outage):
    assert outage.counter_before == 5
    # An actor that exists keeps answering while the GCS is down ...
    assert outage.counter_during == 6
    # ... and the new GCS, reading Redis, still knows it by name.
    assert outage.counter_after == 6


def test_running_job_finishes(outage):
    assert outage.job_status_at_kill == JobStatus.RUNNING
    assert outage.job_status == JobStatus.SUCCEEDED
    assert outage.job_result is not None, "the job printed no JSON result"
    assert outage.job_result["name"] == "retrieve"
    assert outage.job_result["ok"] is True


def test_echo_answers_every_request_through_the_outage(outage, report_line):
    report_line(
        f"GCS outage {outage.seconds:.1f} s (down {DOWN_S:.0f} s, then restart): "
        f"echo requests sent {outage.echo_sent}, answered {outage.echo_answered} "
        f"({outage.echo_total} in the whole run)"
    )
    assert outage.seconds >= DOWN_S
    # One request at a time, each sent once the last was answered: at least one
    # a second means replies kept coming all through the outage (on an idle
    # machine it is dozens a second).
    assert outage.echo_sent >= outage.seconds // 1
    assert outage.echo_answered == outage.echo_sent, outage.echo_failures[:5]


def test_serve_on_raylets_of_one_machine_runs_one_proxy_and_stops_at_once(outage, report_line):
    """Every node of the local cluster shares this machine's network: one proxy
    (on the head; one per node would bind the same port) and no 30 s drain
    for a load balancer there is none of."""
    report_line(
        f"Serve on the local cluster: {outage.proxies} proxy, stopped in {outage.stop_s:.1f} s"
    )
    assert lifecycle.cluster_on_this_machine()
    assert outage.proxies == 1
    assert outage.stop_s < 15, f"Serve took {outage.stop_s:.0f} s to stop"


def test_redis_holds_the_cluster_state(ha_cluster, redis):
    # The GCS tables live under the namespace's keys ('RAY<namespace>@<table>').
    reply = redis.command("KEYS", "*")
    assert b"@NODE" in reply and b"@JOB" in reply and b"@ACTOR" in reply


def test_a_missing_redis_server_fails_with_the_package_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with (
        pytest.raises(pytest.fail.Exception, match="apt-get install redis-server"),
        redis_server(),
    ):
        pass
