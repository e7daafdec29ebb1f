"""Starting and stopping the echo: the settings its controller gets from the
connection, `ray101 run echo` on the shared test Ray (Serve gone afterwards,
its CPUs given back), and serving declared only once every proxy answers."""

from __future__ import annotations

import socket
import time

import pytest
import ray
import requests

from jobs.echo import config, lifecycle, workload
from jobs.echo.parsing import reply_text
from jobs.runtime import runner
from jobs.runtime.connect import Connection, resolve_address
from jobs.runtime.errors import UsageError
from jobs.runtime.ports import free_port


def test_one_machine_settings_follow_the_connection(monkeypatch):
    """--address auto and RAY_ADDRESS=auto join the same way; a joined cluster
    gets the one-machine settings only when its nodes all run here, and keeps
    HAProxy's metrics (it may have a Prometheus)."""
    for name in [*config.ONE_MACHINE_ENV, *config.EMBEDDED_ENV, "RAY_ADDRESS"]:
        monkeypatch.delenv(name, raising=False)
    by_flag = resolve_address("auto")
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    assert resolve_address(None) == by_flag == "auto"
    joined = Connection(address="auto", embedded=False, client=False)
    elsewhere = lifecycle.controller_env(joined, one_machine=False)
    here = lifecycle.controller_env(joined, one_machine=True)
    embedded = lifecycle.controller_env(
        Connection(address=None, embedded=True, client=False), one_machine=True
    )
    local = config.ONE_MACHINE_ENV.keys() | config.EMBEDDED_ENV.keys()
    assert not elsewhere.keys() & (local | {"RAY_SERVE_HAPROXY_STATS_PORT"})
    assert config.ONE_MACHINE_ENV.items() <= here.items()
    assert not here.keys() & config.EMBEDDED_ENV.keys()
    assert (config.ONE_MACHINE_ENV | config.EMBEDDED_ENV).items() <= embedded.items()
    assert embedded["RAY_SERVE_HAPROXY_STATS_PORT"] != embedded["RAY_SERVE_HAPROXY_METRICS_PORT"]
    monkeypatch.setenv("RAY_worker_niceness", "15")  # the user's own setting wins
    assert lifecycle.controller_env(joined, one_machine=True)["RAY_worker_niceness"] == "15"


@pytest.mark.slow
def test_run_echo_workload(ray_session):
    total_cpus = ray.cluster_resources()["CPU"]
    result = runner.invoke(workload)
    assert result.ok, result.error
    assert result.result == "Received data: Hello"
    assert all(result.details["checks"].values())
    assert result.details["serve_env"]["RAY_SERVE_THROUGHPUT_OPTIMIZED"] == "1"
    # Serve is gone and its replicas gave their CPUs back to the shared Ray.
    assert not lifecycle.serve_running()
    deadline = time.monotonic() + 10
    while ray.available_resources().get("CPU") != total_cpus and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ray.available_resources().get("CPU") == total_cpus


@pytest.mark.slow
def test_a_haproxy_port_taken_before_haproxy_binds_it_is_chosen_again(
    ray_session, monkeypatch, caplog
):
    """Another process takes the port chosen for HAProxy's stats before HAProxy
    binds it: Serve starts again on other free ports. A port the user set is
    theirs: then the start stops with one clear error, and no Serve is left."""
    embedded = Connection(address=None, embedded=True, client=False)
    monkeypatch.delenv("RAY_SERVE_HAPROXY_METRICS_PORT", raising=False)
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        chosen = iter([taken])  # the first port chosen is the one taken
        monkeypatch.setattr(
            lifecycle, "free_port", lambda host="127.0.0.1": next(chosen, 0) or free_port(host)
        )
        running = lifecycle.start("127.0.0.1", free_port(), embedded)
        try:
            reply = requests.get(running.url, params={"data": "again"}, timeout=10)
            assert reply.text == reply_text("again")
            assert str(taken) not in running.env.values()
        finally:
            lifecycle.stop(running)
        assert f"port 0.0.0.0:{taken} was taken" in caplog.text
        monkeypatch.setenv("RAY_SERVE_HAPROXY_METRICS_PORT", str(taken))
        with pytest.raises(UsageError, match=f"0.0.0.0:{taken}: address already in use$"):
            lifecycle.start("127.0.0.1", free_port(), embedded)
    assert not lifecycle.serve_running()


def _flaky_server(bad_first: int, every_other: bool):
    """An HTTP server answering the echo's reply, 503 for the first ``bad_first``
    requests and then, with ``every_other``, for every second one."""
    import http.server
    import threading

    from jobs.echo.parsing import reply_text

    count = {"n": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            count["n"] += 1
            bad = count["n"] <= bad_first or (every_other and count["n"] % 2 == 0)
            body = b"No replicas are available yet." if bad else reply_text("ready").encode()
            self.send_response(503 if bad else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, count


def test_serving_means_every_proxy_answers_not_just_one():
    """Two proxies share the port until both know the replicas: one good reply
    is not enough, READY_STREAK in a row are."""
    from jobs.echo import lifecycle

    server, count = _flaky_server(bad_first=3, every_other=False)
    try:
        lifecycle.wait_until_serving(f"http://127.0.0.1:{server.server_port}/", timeout_s=30)
        assert count["n"] == 3 + lifecycle.READY_STREAK
    finally:
        server.shutdown()
    # A proxy that never learns the replicas: half the answers stay 503.
    server, _ = _flaky_server(bad_first=0, every_other=True)
    try:
        with pytest.raises(RuntimeError, match="did not answer within 2 s"):
            lifecycle.wait_until_serving(f"http://127.0.0.1:{server.server_port}/", timeout_s=2)
    finally:
        server.shutdown()
