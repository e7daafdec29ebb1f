"""The local multi-node cluster: the chart's RayCluster as raylets on 127.0.0.1.

A head (no CPUs: like the RayCluster's, it runs the job drivers, not tasks)
and one ``ray start`` raylet per worker replica, shaped by the chart's values
(``values.yaml`` under ``values-kind.yaml`` by default): the CPU group's
replicas and CPU limit, and the GPU group's, whose GPUs are logical here
(Ray counts them; no device backs them). Token auth stays on, with this
machine's token (``~/.ray/auth_token``, made on first use).

What ``up`` started (pids, addresses, the cluster's own Ray temp dir) is kept
in ``$RAY101_STATE_DIR/cluster.json`` (default ``~/.cache/ray101``); ``down``
ends only those processes, the workers whose command line names that temp dir,
and the HAProxy Serve started for one of its nodes. Never ``ray stop``: it
would end every Ray here. One state dir is one cluster, so several can run.
With ``RAY_REDIS_ADDRESS`` (and ``REDIS_PASSWORD``,
``RAY_external_storage_namespace``) set, the GCS keeps its state in that Redis
as KubeRay sets it up, and raylets survive a GCS restart (docs/ha.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jobs.client import dashboard
from jobs.client.cluster_shape import (
    DEFAULT_VALUES,
    Group,
    chart_values,
    groups_from_values,
    head_resources,
)
from jobs.runtime import processes
from jobs.runtime.errors import UsageError
from jobs.runtime.ports import free_port

# Each raylet's object store; three or more share this machine's /dev/shm.
OBJECT_STORE_BYTES = 200_000_000
START_TIMEOUT_S = 90.0
# Seconds for SIGTERM before SIGKILL: the session is thrown away, so a short grace.
STOP_TIMEOUT_S = 5.0
# `ray start` gives a raylet a fixed 30 s to register with the GCS; on a busy
# machine that can run out, so a node whose `ray start` fails is started again.
START_ATTEMPTS = 2
# Serve's HAProxy names its node's id in its config path, not the temp dir.
HAPROXY_DIR = "/tmp/haproxy-serve"
# The label `status` shows each node's group by.
GROUP_LABEL = "ray101/group"


@dataclass
class Node:
    role: str  # "head" or the worker group's name
    pid: int  # the node's raylet
    log: str  # its output
    logical_gpus: int = 0


@dataclass
class State:
    """What `up` started; the file `down` and `submit` read."""

    gcs_address: str
    dashboard_url: str
    client_address: str
    temp_dir: str
    groups: list[Group] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    home: str = ""  # the state dir this file lives in

    @property
    def address(self) -> str:
        """The GCS address without scheme (`ray.init`, `ray101 run --address`)."""
        return self.gcs_address

    @property
    def session_dir(self) -> Path:
        """The head's Ray session folder (logs, Prometheus discovery file, node ids)."""
        return (Path(self.temp_dir) / "session_latest").resolve()

    @classmethod
    def load(cls, directory: Path | None = None) -> State | None:
        home = directory or state_dir()
        try:
            data = json.loads(state_file(home).read_text())
        except (OSError, ValueError):
            return None
        data["nodes"] = [Node(**n) for n in data.get("nodes", [])]
        data["groups"] = [Group(**g) for g in data.get("groups", [])]
        data["home"] = str(home)
        return cls(**data)

    def save(self) -> None:
        path = state_file(Path(self.home))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)


def state_dir() -> Path:
    return Path(os.environ.get("RAY101_STATE_DIR") or Path.home() / ".cache" / "ray101")


def state_file(directory: Path | None = None) -> Path:
    return (directory or state_dir()) / "cluster.json"


def _ray_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every `ray start`: token auth on, and this Python first on
    PATH so a job's `python -m jobs.…` entrypoint runs with the same packages.
    ``extra`` adds Ray's RAY_* knobs for this cluster only."""
    env = {**os.environ, **(extra or {}), "RAY_AUTH_MODE": "token"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _head_env(extra: dict[str, str] | None) -> dict[str, str]:
    """The head's: the dashboard and the autoscaler export metrics on fixed ports
    (44227, 44217) only these variables change; with a second Ray on this machine
    Prometheus would scrape the other one's."""
    env = _ray_env(extra)
    env["DASHBOARD_METRIC_PORT"] = str(free_port())
    env["AUTOSCALER_METRIC_PORT"] = str(free_port())
    return env


def _redis_args(env: dict[str, str]) -> list[str]:
    """KubeRay's GCS fault tolerance: Ray reads RAY_REDIS_ADDRESS and
    RAY_external_storage_namespace itself, the password only from a flag."""
    if env.get("RAY_REDIS_ADDRESS") and env.get("REDIS_PASSWORD"):
        return ["--redis-password", env["REDIS_PASSWORD"]]
    return []


def _ray_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ray.scripts.scripts", *args]


def ensure_token() -> None:
    """Make this machine's token once (`ray get-auth-token --generate`), as Ray's docs do."""
    if dashboard.auth_token():
        return
    subprocess.run(
        _ray_cli("get-auth-token", "--generate"),
        env=_ray_env(),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _agent_ports() -> list[str]:
    # Ray's defaults are fixed numbers a second raylet on this host (or another
    # Ray here) would collide with.
    return [
        "--dashboard-agent-listen-port", str(free_port()),
        "--dashboard-agent-grpc-port", str(free_port()),
        "--runtime-env-agent-port", str(free_port()),
        "--metrics-export-port", str(free_port()),
    ]  # fmt: skip


def _ray_start(
    state: State, role: str, args: list[str], log_path: Path, env: dict[str, str]
) -> bool:
    """One `ray start`, which returns once its node registered (or failed to)."""
    common = [
        "--node-ip-address", "127.0.0.1",
        "--temp-dir", state.temp_dir,
        "--disable-usage-stats",
        "--object-store-memory", str(OBJECT_STORE_BYTES),
        "--min-worker-port", "0",
        "--max-worker-port", "0",
        "--labels", f"{GROUP_LABEL}={role}",
    ]  # fmt: skip
    # Not --block: that `ray start` ends the whole node when one of its processes
    # dies, and the GCS fault-tolerance tests kill the head's GCS on purpose. Its
    # own session keeps Ctrl-C in this terminal from reaching the cluster.
    with open(log_path, "ab") as out:
        try:
            done = subprocess.run(
                _ray_cli("start", *args, *_agent_ports(), *common),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                timeout=START_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            return False
    return done.returncode == 0


class NodeExited(RuntimeError):
    """A node that did not join: its `ray start` failed (a missed registration
    window), or its raylet ended while it was joining."""


def _join(state: State, role: str, args: list[str], log_name: str, env: dict[str, str]) -> Node:
    """Start one node and wait until it is alive, once more when it does not join."""
    for attempt in range(1, START_ATTEMPTS + 1):
        before = set(cluster_pids(state))
        log_path = Path(state.temp_dir) / f"{log_name}.{attempt}.log"
        raylets = []
        if _ray_start(state, role, args, log_path, env):
            raylets = [p for p in cluster_pids(state, "raylet") if p not in before]
        if raylets:
            node = Node(role=role, pid=raylets[0], log=str(log_path))
            state.nodes.append(node)
            state.save()
            want = sum(processes.alive(n.pid) for n in state.nodes)
            try:
                _wait_for_nodes(state, want, node)
                return node
            except NodeExited:
                state.nodes.remove(node)
                state.save()
        # What this attempt left (a GCS without a raylet, say) goes first.
        processes.end(set(cluster_pids(state)) - before, STOP_TIMEOUT_S)
        if attempt == START_ATTEMPTS:
            raise NodeExited(
                f"ray start ({role}) failed {attempt} times: {processes.tail(log_path, 5)}"
            )
    raise AssertionError("unreachable")


def _alive_nodes(state: State) -> list[dict[str, Any]]:
    return [n for n in dashboard.nodes(state.dashboard_url) if n.get("state") == "ALIVE"]


def _wait_for_nodes(state: State, want: int, starting: Node) -> None:
    """Until ``want`` nodes are alive; fails at once when ``starting``'s raylet exits."""
    deadline = time.monotonic() + START_TIMEOUT_S
    alive: list = []
    while time.monotonic() < deadline:
        if not processes.alive(starting.pid):
            log_tail = processes.tail(Path(starting.log), 5)
            raise NodeExited(f"the {starting.role} raylet exited: {log_tail}")
        try:
            alive = _alive_nodes(state)
            if len(alive) >= want:
                return
        except (UsageError, dashboard.DashboardError, KeyError):
            pass  # the dashboard is still starting
        time.sleep(0.5)
    raise RuntimeError(f"only {len(alive)} of {want} nodes joined in {START_TIMEOUT_S:.0f} s")


def running(directory: Path | None = None) -> State | None:
    """The state of a cluster `up` started whose head still answers, else None."""
    state = State.load(directory)
    if state is None or not any(processes.alive(n.pid) for n in state.nodes if n.role == "head"):
        return None
    return state


def job_api_address(address: str | None) -> str:
    """The job API (the dashboard URL) of ``--address``, else of the cluster ``up`` started."""
    if address:
        return dashboard.job_api_url(address)
    state = running()
    if state is None:
        raise UsageError(
            "no local cluster (start one with 'ray101 cluster up') and no --address "
            "http://HOST:8265 given"
        )
    return state.dashboard_url


def up(
    values_file: str | None = DEFAULT_VALUES,
    workers: int | None = None,
    *,
    directory: Path | None = None,
    env: dict[str, str] | None = None,
) -> State:
    """Start the cluster shaped by the chart's values; on a running one, restart only
    the workers that died (a killed raylet), so `up` can always be run again.

    ``directory`` is the state dir (default ``$RAY101_STATE_DIR``); ``env``
    reaches every `ray start` and so every Ray process of this cluster (Ray's
    RAY_* knobs, the GCS's Redis).
    """
    home = directory or state_dir()
    state = running(home)
    if state is not None:
        _start_workers(state, _ray_env(env))
        return state
    if State.load(home) is not None:
        down(home)  # what is left of a cluster whose head died
    values = chart_values(values_file)
    groups = groups_from_values(values)
    if workers is not None:
        groups[0] = Group(groups[0].name, workers, groups[0].cpus)
    ensure_token()
    gcs, dash, client = free_port(), free_port(), free_port()
    state = State(
        gcs_address=f"127.0.0.1:{gcs}",
        dashboard_url=f"http://127.0.0.1:{dash}",
        client_address=f"ray://127.0.0.1:{client}",
        # Short and its own: Ray's socket paths must stay under 108 bytes, and
        # this directory names the cluster's processes for `down`.
        temp_dir=tempfile.mkdtemp(prefix="ray101-cluster-", dir="/tmp"),
        groups=groups,
        home=str(home),
    )
    state.save()
    try:
        head_env = _head_env(env)
        head_args = [
            "--head", "--port", str(gcs), "--num-cpus", "0",
            "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dash),
            "--ray-client-server-port", str(client), *_redis_args(head_env),
            "--resources", json.dumps(head_resources(values)),
        ]  # fmt: skip
        _join(state, "head", head_args, "head", head_env)
        _start_workers(state, _ray_env(env))
    except BaseException:
        down(home)
        raise
    return state


def _start_workers(state: State, env: dict[str, str]) -> None:
    """Start every worker the shape has and no live raylet stands for."""
    for group in state.groups:
        live = [n for n in state.nodes if n.role == group.name and processes.alive(n.pid)]
        for _ in range(group.replicas - len(live)):
            args = ["--address", state.gcs_address, "--num-cpus", str(group.cpus)]
            if group.gpus:
                args += ["--num-gpus", str(group.gpus)]
            number = sum(n.role == group.name for n in state.nodes) + 1
            # One at a time: a raylet has 30 s to register, and several
            # starting at once on a small machine can miss that.
            node = _join(state, group.name, args, f"{group.name}-{number}", env)
            node.logical_gpus = group.gpus
            state.save()


def raylet_pid(state: State, node_id: str) -> int | None:
    """The raylet process of one node of this cluster (to kill it in a test, say)."""
    flag = f"--node_id={node_id}".encode()
    for pid, argv in _processes(state):
        if processes.program(argv) == "raylet" and flag in argv:
            return pid
    return None


def node_ids(state: State) -> list[str]:
    """The ids of the nodes that joined, from the files each writes to the session folder."""
    prefix = "runtime_env_agent_port_"
    try:
        return sorted(p.name[len(prefix) :] for p in state.session_dir.glob(prefix + "*"))
    except OSError:
        return []


def _processes(state: State) -> list[tuple[int, list[bytes]]]:
    marker = state.temp_dir.encode()
    haproxy = [f"{HAPROXY_DIR}/{node}/".encode() for node in node_ids(state)]
    return [
        (pid, argv)
        for pid, argv in processes.command_lines()
        if any(marker in a or any(h in a for h in haproxy) for a in argv)
    ]


def cluster_pids(state: State, program: str | None = None) -> list[int]:
    """The processes of this cluster: the raylets `up` started, every
    process that names the cluster's own temp dir on its command line (GCS, raylets,
    dashboard, agents, the workers started since) and Serve's HAProxy for its nodes;
    only those running ``program`` when given (``gcs_server``, ``raylet``)."""
    found = {pid for pid, argv in _processes(state) if program in (None, processes.program(argv))}
    if program is None:
        found |= {n.pid for n in state.nodes}
    return sorted(p for p in found if processes.alive(p))


def down(directory: Path | None = None, grace_s: float = STOP_TIMEOUT_S) -> bool:
    """End this cluster's processes (SIGTERM, then SIGKILL after ``grace_s``);
    False when none was up."""
    state = State.load(directory)
    if state is None:
        return False
    # Twice: a worker a raylet started while the first round ran is stopped too.
    for _ in range(2):
        processes.end(cluster_pids(state), grace_s)
    shutil.rmtree(state.temp_dir, ignore_errors=True)
    state_file(Path(state.home)).unlink(missing_ok=True)
    return True
