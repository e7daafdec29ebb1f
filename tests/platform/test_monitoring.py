"""Prometheus, real: Debian's prometheus scrapes a local two-node Ray through the
service-discovery file Ray writes, and the chart's Grafana dashboards are the
ones that Ray head generated.

One cluster (``metrics_cluster``: a head and a worker, metrics exported every
second) and one Prometheus serve the module.
"""

from __future__ import annotations

import filecmp
import json
import subprocess
import time

import pytest
import ray
import requests

from jobs.echo import lifecycle
from jobs.echo.config import DEFAULT_HOST
from jobs.echo.parsing import reply_text
from jobs.runtime.connect import Connection
from jobs.runtime.ports import free_port
from tests.servers.prometheus import discovery_file, prometheus_server, ray_config, wait_for
from tests.support import REPO_ROOT

pytestmark = pytest.mark.slow

CHART_DASHBOARDS = REPO_ROOT / "helm" / "ray101" / "dashboards"
TASKS = 24
REQUESTS = 40

# The tests' driver joined a `ray start` cluster on this machine.
JOINED = Connection(address=None, embedded=False, client=False)


@ray.remote(num_cpus=0.25)
def square(x: int) -> int:
    return x * x


def total(result: list[dict]) -> float:
    return sum(float(sample["value"][1]) for sample in result)


def listed_targets(session_dir) -> set[str]:
    (group,) = json.loads(discovery_file(session_dir).read_text())
    assert group["labels"] == {"job": "ray"}
    return set(group["targets"])


def test_prometheus_scrapes_every_target_in_rays_discovery_file(metrics_cluster, prometheus):
    # Ray's scrape config, which the Prometheus here runs, reads the file.
    (scrape,) = ray_config(metrics_cluster.session_dir)["scrape_configs"]
    assert scrape["file_sd_configs"] == [
        {"files": [str(discovery_file(metrics_cluster.session_dir))]}
    ]
    # Ray rewrites the file every 5 s: each node's metrics agent, the
    # autoscaler and the dashboard (two nodes: four targets).
    deadline = time.monotonic() + 30
    while len(listed := listed_targets(metrics_cluster.session_dir)) < 4:
        assert time.monotonic() < deadline, f"the discovery file lists only {listed}"
        time.sleep(0.5)
    assert len(listed) == 4

    def all_up(_) -> bool:
        up = {t["labels"]["instance"] for t in prometheus.targets() if t["health"] == "up"}
        return up == listed

    wait_for(prometheus, "up", all_up, timeout_s=30)

    # The worker's node metrics always arrive. The head's (it has no CPUs
    # here) came in some runs and not in others within minutes, with all four
    # targets up: Ray's reporter on the head is not dependable for this gauge.
    def has_worker(r) -> bool:
        return any(s["metric"]["IsHeadNode"] == "false" for s in r)

    nodes = wait_for(prometheus, "ray_node_cpu_count", has_worker)
    assert {s["metric"]["IsHeadNode"] for s in nodes} <= {"true", "false"}
    assert all(float(s["value"][1]) >= 1 for s in nodes)  # cores of this machine


def test_core_metric_counts_the_finished_tasks(metrics_cluster, prometheus):
    assert sum(ray.get([square.remote(i) for i in range(TASKS)])) == sum(
        i * i for i in range(TASKS)
    )
    finished = wait_for(
        prometheus,
        'ray_tasks{Name="square", State="FINISHED"}',
        lambda r: total(r) == TASKS,
    )
    assert {s["metric"]["job"] for s in finished} == {"ray"}


def test_serve_metric_counts_the_echo_requests(metrics_cluster, prometheus):
    running = lifecycle.start(DEFAULT_HOST, free_port(), JOINED)
    query = 'ray_serve_num_http_requests_total{application="echo", route="/", status_code="200"}'
    try:
        # The readiness check's one successful request, once scraped.
        before = total(wait_for(prometheus, query, lambda r: total(r) >= 1))
        with requests.Session() as session:
            for n in range(REQUESTS):
                reply = session.get(running.url, params={"data": str(n)}, timeout=10)
                assert reply.text == reply_text(str(n))
        # A counter per replica: summed, it grows by exactly the requests sent.
        after = wait_for(prometheus, query, lambda r: total(r) == before + REQUESTS)
        assert {s["metric"]["method"] for s in after} == {"GET"}
    finally:
        lifecycle.stop(running)


def test_a_missing_prometheus_fails_with_the_package_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with (
        pytest.raises(pytest.fail.Exception, match="apt-get install prometheus"),
        prometheus_server(tmp_path),
    ):
        pass


def test_chart_dashboards_are_the_ones_ray_generates(metrics_cluster, tmp_path):
    # This module's head generated them when it started; the script that
    # `make dashboards` runs copies them from its session folder.
    copied = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "dashboards"), "--from",
         str(metrics_cluster.session_dir), str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    generated = sorted(p.name for p in tmp_path.glob("*.json"))
    committed = sorted(p.name for p in CHART_DASHBOARDS.glob("*.json"))
    assert generated == committed
    _, mismatch, errors = filecmp.cmpfiles(tmp_path, CHART_DASHBOARDS, generated, shallow=False)
    assert not mismatch and not errors, f"stale: {mismatch + errors}; run make dashboards"
    for name in committed:
        dashboard = json.loads((CHART_DASHBOARDS / name).read_text())
        assert dashboard["uid"].startswith("ray") and dashboard["panels"]
