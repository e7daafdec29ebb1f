"""`ray101 cluster up | down | status`: the chart's node groups as local raylets,
token auth on, idempotent, and `down` ending only what `up` started."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.client import cluster_shape, dashboard, localcluster
from jobs.client.cluster_shape import Group


def test_the_kind_values_give_one_two_cpu_worker_and_no_gpus():
    groups = cluster_shape.groups_from_values(cluster_shape.chart_values("values-kind.yaml"))
    assert groups == [Group("cpu", replicas=1, cpus=2)]


def test_the_gpu_values_add_a_gpu_group():
    groups = cluster_shape.groups_from_values(cluster_shape.chart_values("values-gpu.yaml"))
    gpu = next(g for g in groups if g.name == "gpu")
    assert gpu.replicas == 1 and gpu.gpus == 1 and gpu.cpus == 8


@pytest.mark.parametrize(("quantity", "cpus"), [("2", 2), ("500m", 1), (4, 4), ("1500m", 2)])
def test_cpu_quantities_round_up_as_kuberay_does(quantity, cpus):
    assert cluster_shape._cpu_count(quantity) == cpus


def test_an_unknown_values_file_is_a_usage_error(cli, tmp_path):
    proc = cli("cluster", "up", "--values", "nosuch.yaml", env={"RAY101_STATE_DIR": str(tmp_path)})
    assert proc.returncode == 2
    assert "values file 'nosuch.yaml' not found" in proc.stderr


def test_down_and_status_without_a_cluster(cli, tmp_path):
    env = {"RAY101_STATE_DIR": str(tmp_path)}
    down = cli("cluster", "down", env=env)
    assert down.returncode == 0 and "not running" in down.stderr
    status = cli("cluster", "status", env=env)
    assert status.returncode == 1 and "not running" in status.stderr


@pytest.mark.slow
def test_status_lists_the_nodes_resources_and_addresses(ray101_cluster):
    proc = ray101_cluster.cli("cluster", "status")
    assert proc.returncode == 0, proc.stderr
    state = ray101_cluster.state
    assert state.dashboard_url in proc.stdout and state.gcs_address in proc.stdout
    rows = [line for line in proc.stdout.splitlines() if line.startswith("  ALIVE")]
    assert len(rows) == 3
    assert sum(" head " in r and " 0 CPU" in r for r in rows) == 1
    assert sum(" cpu " in r and " 2 CPU" in r for r in rows) == 2


@pytest.mark.slow
def test_status_json_is_what_a_script_needs(ray101_cluster):
    proc = ray101_cluster.cli("cluster", "status", "--json")
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)  # one object, nothing else on stdout
    state = ray101_cluster.state
    assert status["job_api_url"] == status["dashboard_url"] == state.dashboard_url
    assert status["gcs_address"] == state.gcs_address
    assert status["client_address"] == state.client_address
    assert status["temp_dir"] == state.temp_dir and Path(status["session_dir"]).is_dir()
    nodes = [n for n in status["nodes"] if n["alive"]]  # a node killed earlier stays listed
    assert len(nodes) == 3 and all(n["state"] == "ALIVE" for n in nodes)
    (head,) = [n for n in nodes if n["head"]]
    assert head["group"] == "head" and head["resources"].get("CPU", 0) == 0
    # The RayJobs' entrypointResources ask for one of the head's driver slots.
    slots = cluster_shape.head_resources(cluster_shape.chart_values())["driver_slot"]
    assert head["resources"]["driver_slot"] == slots > 0
    workers = [n for n in nodes if not n["head"]]
    assert [(n["group"], n["resources"]["CPU"]) for n in workers] == [("cpu", 2), ("cpu", 2)]
    assert {n["node_id"] for n in nodes} <= set(localcluster.node_ids(state))


@pytest.mark.slow
def test_up_again_is_idempotent(ray101_cluster):
    before = ray101_cluster.state
    proc = ray101_cluster.cli("cluster", "up")
    assert proc.returncode == 0, proc.stderr
    assert "local cluster running" in proc.stderr
    assert ray101_cluster.state.gcs_address == before.gcs_address


@pytest.mark.slow
def test_token_auth_is_on(ray101_cluster):
    url = ray101_cluster.state.dashboard_url
    with pytest.raises(dashboard.DashboardError) as refused:
        dashboard.request(url, "/api/jobs/", token="not-the-token")
    assert refused.value.status in (401, 403)
    assert isinstance(dashboard.request(url, "/api/jobs/"), list)  # the machine's token


@pytest.mark.slow
def test_down_would_end_only_the_clusters_processes(ray101_cluster):
    """The processes `down` ends are the cluster's own, found by pid and temp dir:
    another Python process on this machine is not among them."""
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        pids = localcluster.cluster_pids(ray101_cluster.state)
        assert pids and bystander.pid not in pids
        time.sleep(0.1)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
