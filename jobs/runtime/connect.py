"""Connecting to Ray: an embedded local instance, or an existing cluster.

``address=None`` means: join the cluster this process was submitted to when
``RAY_ADDRESS`` is set (``ray job submit``, a RayJob), otherwise start an
embedded local Ray with fixed resources.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import ray

from jobs.runtime import ray_internals
from jobs.runtime.command import stop_on_sigterm
from jobs.runtime.errors import UsageError, first_line

log = logging.getLogger(__name__)

# Tasks that mostly wait (sleep, network, a database) and use little CPU. Ray
# reserves 1 CPU per task by default, so a 2-core machine would run only 2 at a
# time: 6 one-second waits would take 3 s. A quarter CPU each lets 4 waits share
# a core while Ray still accounts for them, so a burst cannot oversubscribe a
# node without bound (num_cpus=0 would let every queued task start at once).
IO_TASK_CPUS = 0.25

# Seconds to wait for a TCP answer from a named cluster before calling it unreachable.
CONNECT_TIMEOUT_S = 5.0


def _host_port(address: str) -> tuple[str, int] | None:
    """Host and port of ``host:port`` or ``ray://host:port``; None for 'auto' and the like."""
    if address in ("auto", "local"):
        return None
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if not parts.hostname:
        raise UsageError(f"--address {address!r} is not 'auto', host:port or ray://host:port")
    try:
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"--address {address!r} has an invalid port") from exc
    if port is None:
        raise UsageError(f"--address {address!r} names no port (e.g. ray://127.0.0.1:10001)")
    return parts.hostname, port


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast with a UsageError when a named cluster does not answer."""
    if address == "auto":
        if not os.environ.get("RAY_ADDRESS") and not Path("/tmp/ray/ray_current_cluster").exists():
            raise UsageError("--address auto: no running Ray cluster found on this machine")
        return
    target = _host_port(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout_s):
            pass
    except OSError as exc:
        raise UsageError(f"cannot reach Ray at {address}: {exc.strerror or exc}") from exc


def _token_available() -> bool:
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return True
    return (Path.home() / ".ray" / "auth_token").is_file()


def enable_token_auth_for(address: str) -> None:
    """Send this machine's Ray token when joining a cluster by explicit address.

    Ray 2.60 turns token auth on by default for clusters it starts, but a
    driver that names an address only sends a token when RAY_AUTH_MODE=token.
    Without this, joining a `ray start` cluster fails with InvalidAuthToken.
    RAY_AUTH_MODE set by the user (or by KubeRay in a pod) is respected.
    """
    if address != "local" and "RAY_AUTH_MODE" not in os.environ and _token_available():
        # Ray's own switch: sets RAY_AUTH_MODE and refreshes its cached config,
        # which reads the variable once at import.
        ray_internals.enable_token_auth()


def resolve_address(address: str | None) -> str | None:
    """The address to join, or None for an embedded local Ray."""
    if address:
        return address
    return os.environ.get("RAY_ADDRESS") or None


@dataclass(frozen=True)
class Connection:
    """What :func:`connect` joined, so no workload re-derives it from the flags.

    ``address`` is the cluster joined (None for an embedded Ray, or when an
    already-initialised Ray was reused); ``embedded``: this process started
    that Ray and it ends with the process; ``client``: the driver talks to the
    cluster through Ray Client (``ray://``), so it is not on one of its nodes
    and cannot reach the cluster's services at 127.0.0.1; ``fixed_size``: the
    cluster cannot grow (an embedded Ray), so work that can never fit is a
    mistake rather than a wait for the autoscaler.
    """

    address: str | None
    embedded: bool
    client: bool

    @property
    def on_a_node(self) -> bool:
        """The driver runs on a node of the cluster (its loopback reaches the node's services)."""
        return not self.client

    @property
    def fixed_size(self) -> bool:
        return self.embedded


def _reused() -> Connection:
    """The Ray a caller already initialised (a test fixture, ``ray101 run all``)."""
    client = ray.util.client.ray.is_connected()
    node = None if client else ray_internals.global_node()
    # A driver that started its own Ray holds that node's processes.
    embedded = node is not None and getattr(node, "head", False)
    return Connection(address=None, embedded=embedded, client=client)


@contextmanager
def connect(address: str | None = None, num_cpus: int | None = None) -> Iterator[Connection]:
    """Run the body with Ray initialised; shut down only what this call started.

    An already-initialised Ray (a test fixture, ``ray101 run all``) is reused.
    """
    if ray.is_initialized():
        yield _reused()
        return
    target = resolve_address(address)
    quiet = {"logging_level": logging.WARNING, "log_to_driver": False}
    if target is None:
        ray.init(
            address="local", num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, **quiet
        )
        connection = Connection(address=None, embedded=True, client=False)
    else:
        check_reachable(target)
        enable_token_auth_for(target)
        client = target.startswith("ray://")
        runtime_env = _client_runtime_env() if client else None
        try:
            ray.init(address=target, runtime_env=runtime_env, **quiet)
        except (ConnectionError, RuntimeError, TimeoutError) as exc:
            raise UsageError(f"cannot join Ray at {target}: {first_line(exc)}") from exc
        connection = Connection(address=target, embedded=False, client=client)
    stop_on_sigterm()  # ray.init replaced the handler with one that skips clean-up
    try:
        yield connection
    finally:
        ray.shutdown()


def alive_nodes() -> dict[str, str]:
    """The nodes alive now, node id -> its raylet's address."""
    return {
        n["NodeID"]: f"{n['NodeManagerAddress']}:{n['NodeManagerPort']}"
        for n in ray.nodes()
        if n["Alive"]
    }


def nodes_lost(before: dict[str, str]) -> list[dict[str, str]]:
    """The nodes of ``before`` (from :func:`alive_nodes`) that have died since."""
    now = alive_nodes()
    return [{"node_id": i, "address": a} for i, a in before.items() if i not in now]


def _client_runtime_env() -> dict:
    """Ship this package to a remote cluster joined through Ray Client."""
    import jobs

    return {"py_modules": [str(Path(jobs.__file__).parent)]}
