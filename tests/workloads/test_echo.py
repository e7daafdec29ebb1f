"""The echo service: request parsing, then real Serve over real HTTP on a free port.

One ``ray101 serve`` process serves the module's HTTP tests (starting Serve
costs seconds); the SIGTERM test starts its own, so the tests pass in any order.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import ray
import requests
from ray.serve import Application
from ray.serve.schema import ServeDeploySchema

from jobs import echo
from jobs.commands.loadtest.python_client import run_python
from jobs.commands.loadtest.servers import echo_server
from jobs.commands.loadtest.urls import with_data
from jobs.echo import config, lifecycle, parsing, workload
from jobs.runtime import ray_internals, runner
from jobs.runtime.command import EXIT_TERMINATED
from jobs.runtime.connect import Connection, resolve_address
from tests.support import REPO_ROOT, run_cli

LIMIT = config.DEFAULT_MAX_DATA_BYTES
# The served instance gets a smaller limit through the environment, which also
# keeps its GET checks inside the 65,535-byte URL the replica's parser takes.
SERVED_LIMIT = 32 * 1024
# Spaces, reserved URL characters, accents, CJK, an emoji outside the BMP,
# right-to-left text, a combining mark and a control character.
UNICODE = "héllo wörld & a=b+c %20 / 你好 🚀 שלום e\u0301 \u0007 end"


# ---------------------------------------------------------------------------
# Without Serve: the application object, its config and the parsing rules.


def test_app_loads_from_its_import_path():
    application = ray_internals.application_from_import_path(echo.IMPORT_PATH)
    assert isinstance(application, Application)
    assert echo.IMPORT_PATH == "jobs.echo:app"
    assert echo.Echo.name == echo.DEPLOYMENT_NAME == "Echo"


def test_serve_config_is_a_valid_serve_deploy_config():
    schema = ServeDeploySchema.model_validate(echo.SERVE_CONFIG)
    (application,) = schema.applications
    assert (application.name, application.import_path, application.route_prefix) == (
        "echo",
        "jobs.echo:app",
        "/",
    )
    (deployment,) = application.deployments
    assert deployment.name == "Echo"
    assert deployment.num_replicas == echo.DEPLOYMENT_OPTIONS["num_replicas"]


def test_the_package_is_import_light():
    """Replicas import jobs.echo:app; the chart reads SERVE_CONFIG: neither loads the commands."""
    code = (
        "import json, sys, jobs.echo; jobs.echo.SERVE_CONFIG; ray = 'ray' in sys.modules; "
        "jobs.echo.app; print(json.dumps([ray, sorted(m for m in sys.modules if 'jobs' in m)]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    ray_before_app, modules = json.loads(done.stdout)
    assert not ray_before_app
    assert modules == [
        "jobs",
        "jobs.echo",
        "jobs.echo.config",
        "jobs.echo.parsing",
        "jobs.echo.service",
    ]


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


@pytest.mark.parametrize(
    ("query", "data"),
    [
        (b"data=Hello", "Hello"),
        (b"x=1&data=a+b%2Bc&data=second", "a b+c"),
        (b"data=", ""),
        (b"data=h%C3%A9llo", "héllo"),
        ("data=héllo".encode(), "héllo"),  # raw UTF-8, as some clients send it
        (b"d%61ta=escaped+name", "escaped name"),
    ],
)
def test_data_from_query(query, data):
    assert parsing.data_from_query(query, LIMIT) == data


@pytest.mark.parametrize(
    ("query", "status"),
    [(b"", 400), (b"other=1", 400), (b"data=%FF", 400), (b"data=" + b"x" * (LIMIT + 1), 413)],
)
def test_data_from_query_refuses(query, status):
    with pytest.raises(parsing.EchoError) as err:
        parsing.data_from_query(query, LIMIT)
    assert err.value.status == status


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"{not json", 400),
        (b"\xff\xfe{}", 400),
        (b"[1, 2]", 400),
        (b'"data"', 400),
        (b"{}", 400),
        (b'{"data": 5}', 400),
        (b'{"data": null}', 400),
        (b'{"data": "\\ud800"}', 400),  # a lone surrogate cannot be sent back as UTF-8
        (b"[" * 100_000, 400),
        (json.dumps({"data": "x" * (LIMIT + 1)}).encode(), 413),
        (json.dumps({"data": "é" * (LIMIT // 2 + 1)}).encode(), 413),  # bytes, not characters
    ],
)
def test_data_from_json_refuses(body, status):
    with pytest.raises(parsing.EchoError) as err:
        parsing.data_from_json(body, LIMIT)
    assert err.value.status == status


def test_data_from_json_accepts_the_limit_exactly():
    body = json.dumps({"data": "x" * LIMIT, "extra": 1}).encode()
    assert parsing.data_from_json(body, LIMIT) == "x" * LIMIT


def test_reconfigure_changes_the_limit():
    replica = echo.Echo.func_or_class()
    assert replica.max_data_bytes == LIMIT
    replica.reconfigure({"max_data_bytes": 100})
    assert replica.max_data_bytes == 100
    with pytest.raises(ValueError):
        replica.reconfigure({"max_data_bytes": 0})


def test_autoscaling_variant_is_valid():
    """SERVE_CONFIG with the RayService's autoscaling replicas passes Serve's schema."""
    deployment = {k: v for k, v in echo.DEPLOYMENT_OPTIONS.items() if k != "num_replicas"}
    deployment["autoscaling_config"] = {
        "min_replicas": 2,
        "max_replicas": 4,
        "target_ongoing_requests": 8,
    }
    (app,) = echo.SERVE_CONFIG["applications"]
    config = {"applications": [{**app, "deployments": [{"name": "Echo", **deployment}]}]}
    ServeDeploySchema.model_validate(config)


def test_limit_from_env():
    assert parsing.max_data_bytes_from_env({}) == LIMIT
    assert parsing.max_data_bytes_from_env({config.MAX_DATA_ENV: "10"}) == 10
    for bad in ("0", "-1", "ten"):
        with pytest.raises(ValueError, match=config.MAX_DATA_ENV):
            parsing.max_data_bytes_from_env({config.MAX_DATA_ENV: bad})


# ---------------------------------------------------------------------------
# Real Serve over real HTTP.


@pytest.fixture(scope="module")
def server():
    with echo_server({config.MAX_DATA_ENV: str(SERVED_LIMIT)}) as running:
        yield running


@pytest.fixture(scope="module")
def url(server):
    return server.url


def descendants(pid: int) -> list[tuple[int, str]]:
    """(niceness, command line) of every process below ``pid``, from ps."""
    rows = subprocess.run(
        ["ps", "-eo", "pid=,ppid=,ni=,args="], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    table = [row.split(None, 3) for row in rows]
    found, below = [], {pid}
    for _ in range(len(table)):  # enough passes for any depth
        for child, parent, nice, args in table:
            if int(parent) in below and int(child) not in below:
                below.add(int(child))
                found.append((int(nice), args))
    return found


def test_the_service_runs_at_the_clients_priority(server):
    """On one machine the replicas and the proxy actor (which starts HAProxy, so
    HAProxy inherits its niceness) run at niceness 0, as a client on the same
    cores does, not at the 15 Ray gives its workers."""
    processes = descendants(server.process.pid)
    replicas = [nice for nice, args in processes if "ServeReplica" in args]
    proxies = [nice for nice, args in processes if "ProxyActor" in args]
    assert len(replicas) == 2 and len(proxies) == 1, processes
    assert set(replicas + proxies) == {0}


def _error(reply: requests.Response, status: int) -> str:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    return reply.json()["error"]


@pytest.mark.slow
def test_tutorial_client(url):
    reply = requests.get(url, params={"data": "Hello"}, timeout=10)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.text == "Received data: Hello"


@pytest.mark.slow
def test_localhost_name_works(url):
    port = urlsplit(url).port
    reply = requests.get(f"http://localhost:{port}/", params={"data": "Hello"}, timeout=10)
    assert reply.text == "Received data: Hello"


@pytest.mark.slow
def test_post_json(url):
    reply = requests.post(url, json={"data": "Hello"}, timeout=10)
    assert (reply.status_code, reply.text) == (200, "Received data: Hello")


@pytest.mark.slow
def test_unicode_round_trips(url):
    got = requests.get(url, params={"data": UNICODE}, timeout=10)
    posted = requests.post(
        url, data=json.dumps({"data": UNICODE}, ensure_ascii=False).encode(), timeout=10
    )
    escaped = requests.post(url, json={"data": UNICODE}, timeout=10)  # \uXXXX escapes
    for reply in (got, posted, escaped):
        assert reply.status_code == 200
        assert reply.content == f"Received data: {UNICODE}".encode()


@pytest.mark.slow
def test_missing_data_is_400(url):
    assert "data" in _error(requests.get(url, timeout=10), 400)
    assert "data" in _error(requests.get(url, params={"other": "x"}, timeout=10), 400)
    assert "data" in _error(requests.post(url, json={}, timeout=10), 400)


@pytest.mark.slow
@pytest.mark.parametrize(
    "body", [b"{not json", b"\xff\xfe\x00", b'{"data": "\\ud800"}', b"[1]", b'{"data": 1}']
)
def test_bad_body_is_400(url, body):
    _error(requests.post(url, data=body, timeout=10), 400)


@pytest.mark.slow
def test_bad_utf8_query_is_400(url):
    assert "UTF-8" in _error(requests.get(url + "?data=%FF%FE", timeout=10), 400)


@pytest.mark.slow
def test_data_over_the_limit_is_413(url):
    for method, key in (("POST", "json"), ("GET", "params")):
        exact = requests.request(method, url, **{key: {"data": "x" * SERVED_LIMIT}}, timeout=10)
        assert exact.status_code == 200, method
        assert exact.text == "Received data: " + "x" * SERVED_LIMIT
        over = requests.request(
            method, url, **{key: {"data": "x" * (SERVED_LIMIT + 1)}}, timeout=10
        )
        assert "limit" in _error(over, 413)
    # The limit counts UTF-8 bytes, not characters.
    _error(requests.post(url, json={"data": "é" * (SERVED_LIMIT // 2 + 1)}, timeout=10), 413)


@pytest.mark.slow
def test_long_get_passes_the_ingress(url):
    """HAProxy's default 16 KiB request buffer would answer this with its own 400."""
    data = "y" * 30_000
    assert requests.get(url, params={"data": data}, timeout=10).text == "Received data: " + data


@pytest.mark.slow
def test_huge_body_is_413_without_parsing(url):
    body = b'{"data": "' + b"x" * (parsing.body_limit(SERVED_LIMIT) + 1) + b'"}'
    _error(requests.post(url, data=body, timeout=30), 413)
    _error(requests.post(url, data=b"x" * (config.DRAIN_LIMIT_BYTES + 1), timeout=30), 413)


@pytest.mark.slow
def test_healthz(url):
    reply = requests.get(url.rstrip("/") + config.HEALTH_ROUTE, timeout=10)
    assert reply.status_code == 200


@pytest.mark.slow
def test_other_paths_and_methods(url):
    _error(requests.get(url + "nope", params={"data": "x"}, timeout=10), 404)
    reply = requests.delete(url, timeout=10)
    _error(reply, 405)
    assert "GET" in reply.headers["allow"]


@pytest.mark.slow
def test_bounded_load_has_no_errors(url):
    expected = b"Received data: Hello"
    result = run_python(
        with_data(url, "Hello"), "echo", connections=16, total_requests=2000, expected=expected
    )
    assert result.requests == 2000
    assert (result.non_2xx, result.socket_errors, result.wrong_body) == (0, 0, 0)


@pytest.mark.slow
def test_loadtest_cli_against_the_service(url, tmp_path):
    done = run_cli(
        "loadtest", "--url", url, "--requests", "1000", "--connections", "16",
        "--client", "python", "--baseline", "--out", str(tmp_path), "--json",
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    payload = json.loads(done.stdout)
    assert payload["summary"]["echo"]["errors"] == 0
    assert payload["summary"]["echo"]["requests"] == 1000
    assert payload["summary"]["baseline"]["errors"] == 0
    assert payload["ratio"] > 0
    assert (tmp_path / "loadtest.json").exists() and (tmp_path / "loadtest.png").exists()


@pytest.mark.slow
def test_serve_refuses_a_taken_port_with_exit_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("serve", "--port", str(port), "--num-cpus", "2", timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert f"cannot listen on 127.0.0.1:{port}" in line
    assert "Traceback" not in done.stderr and "ready" not in done.stdout


@pytest.mark.slow
def test_sigterm_stops_the_service_cleanly():
    """Its own service, so stopping it leaves the module's one to the other tests."""
    with echo_server() as server:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) == EXIT_TERMINATED
        lines = server.log_path.read_text().strip().splitlines()
        assert lines[-1] == "terminated (SIGTERM): stopped", lines[-20:]
        assert not any("Traceback" in line for line in lines), lines[-20:]
        port = urlsplit(server.url).port
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
            pass


# ---------------------------------------------------------------------------
# `ray101 run echo`: the workload on the shared test Ray.


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
