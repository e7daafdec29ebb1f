"""Real Serve over real HTTP on a free port: the tutorial's client, every refusal
with its status, the limits, the ingress, load, the priority the service runs
at, a taken port, SIGTERM.

One ``ray101 serve`` process serves the module's HTTP tests (starting Serve
costs seconds); the SIGTERM test starts its own, so the tests pass in any order.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from urllib.parse import urlsplit

import pytest
import requests

from jobs.commands.loadtest.python_client import run_python
from jobs.commands.loadtest.servers import echo_server
from jobs.commands.loadtest.urls import with_data
from jobs.echo import config, parsing
from tests.support import assert_terminated_cleanly, run_cli

# The served instance gets a smaller limit through the environment, which also
# keeps its GET checks inside the 65,535-byte URL the replica's parser takes.
SERVED_LIMIT = 32 * 1024
# Spaces, reserved URL characters, accents, CJK, an emoji outside the BMP,
# right-to-left text, a combining mark and a control character.
UNICODE = "héllo wörld & a=b+c %20 / 你好 🚀 שלום e\u0301 \u0007 end"


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
def test_a_client_gone_mid_body_leaves_the_service_answering(url):
    """Serve does not watch for the client going away (jobs/echo/middleware.py):
    the handler sees the body end early, and the next requests are answered."""
    parts = urlsplit(url)
    head = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    for _ in range(20):
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall(head.encode() + b'{"data": "cut sho')
    replies = [requests.post(url, json={"data": str(n)}, timeout=10).text for n in range(20)]
    assert replies == [f"Received data: {n}" for n in range(20)]


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
        sent = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(timeout=60)
        seconds = time.monotonic() - sent
        assert_terminated_cleanly(code, seconds, server.log_path.read_text(), within_s=60)
        port = urlsplit(server.url).port
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
