"""The local multi-node cluster: the chart's RayCluster as raylets on 127.0.0.1.

A head (no CPUs: like the RayCluster's, it runs the job drivers, not tasks)
and one ``ray start`` raylet per worker replica, shaped by the chart's values
(``values.yaml`` under ``values-kind.yaml`` by default): the CPU group's
replicas and CPU limit, and the GPU group's, whose GPUs are logical here
(Ray counts them; no device backs them). Token auth stays on, with this
machine's token (``~/.ray/auth_token``, made on first use).

What ``up`` started (process ids, addresses, the cluster's own Ray temp dir)
is kept in ``$RAY101_STATE_DIR/cluster.json`` (default
``~/.cache/ray101``); ``down`` ends only those processes, by pid, and the
worker processes the raylets started later, which name that temp dir on
their command line. Never ``ray stop``: it would end every Ray here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jobs import dashboard
from jobs.cluster_shape import DEFAULT_VALUES, Group, chart_values, groups_from_values
from jobs.errors import UsageError
from jobs.ports import free_port

# Each raylet's object store; three or more share this machine's /dev/shm.
OBJECT_STORE_BYTES = 200_000_000
START_TIMEOUT_S = 90.0
# Seconds for SIGTERM before SIGKILL: the session is thrown away, so a short grace.
STOP_TIMEOUT_S = 5.0
# The label `status` shows each node's group by.
GROUP_LABEL = "ray101/group"


@dataclass
class Node:
    role: str  # "head" or the worker group's name
    pid: int  # the `ray start --block` process, parent of the node's Ray processes
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

    @classmethod
    def load(cls) -> State | None:
        try:
            data = json.loads(state_file().read_text())
        except (OSError, ValueError):
            return None
        data["nodes"] = [Node(**n) for n in data.get("nodes", [])]
        data["groups"] = [Group(**g) for g in data.get("groups", [])]
        return cls(**data)

    def save(self) -> None:
        path = state_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)


def state_dir() -> Path:
    return Path(os.environ.get("RAY101_STATE_DIR") or Path.home() / ".cache" / "ray101")


def state_file() -> Path:
    return state_dir() / "cluster.json"


def _ray_env() -> dict[str, str]:
    """The environment of every `ray start`: token auth on, and this Python first on
    PATH so a job's `python -m jobs.…` entrypoint runs with the same packages."""
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


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


def _start_node(state: State, role: str, args: list[str], log_name: str) -> Node:
    common = [
        "--node-ip-address", "127.0.0.1",
        "--temp-dir", state.temp_dir,
        "--disable-usage-stats",
        "--object-store-memory", str(OBJECT_STORE_BYTES),
        "--min-worker-port", "0",
        "--max-worker-port", "0",
        "--labels", f"{GROUP_LABEL}={role}",
    ]  # fmt: skip
    log_path = Path(state.temp_dir) / f"{log_name}.log"
    with open(log_path, "wb") as out:
        # --block keeps `ray start` as the node's parent; its own session keeps
        # Ctrl-C in this terminal from reaching the cluster.
        proc = subprocess.Popen(
            _ray_cli("start", "--block", *args, *_agent_ports(), *common),
            env=_ray_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Node(role=role, pid=proc.pid, log=str(log_path))


def _alive_nodes(state: State) -> list[dict[str, Any]]:
    return [n for n in dashboard.nodes(state.dashboard_url) if n.get("state") == "ALIVE"]


def _wait_for_nodes(state: State, want: int, starting: Node) -> None:
    """Until ``want`` nodes are alive; fails at once when ``starting``'s `ray start` exits."""
    deadline = time.monotonic() + START_TIMEOUT_S
    alive: list = []
    while time.monotonic() < deadline:
        if not _pid_alive(starting.pid):
            raise RuntimeError(f"ray start ({starting.role}) exited: {_tail(Path(starting.log))}")
        try:
            alive = _alive_nodes(state)
            if len(alive) >= want:
                return
        except (UsageError, dashboard.DashboardError, KeyError):
            pass  # the dashboard is still starting
        time.sleep(0.5)
    raise RuntimeError(f"only {len(alive)} of {want} nodes joined in {START_TIMEOUT_S:.0f} s")


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A finished child of this process stays a zombie until reaped.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def running() -> State | None:
    """The state of a cluster `up` started whose head still answers, else None."""
    state = State.load()
    if state is None or not any(_pid_alive(n.pid) for n in state.nodes if n.role == "head"):
        return None
    return state


def up(values_file: str | None = DEFAULT_VALUES, workers: int | None = None) -> State:
    """Start the cluster shaped by the chart's values; on a running one, restart only
    the workers that died (a killed raylet), so `up` can always be run again."""
    state = running()
    if state is not None:
        _start_workers(state)
        return state
    if State.load() is not None:
        down()  # what is left of a cluster whose head died
    groups = groups_from_values(chart_values(values_file))
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
    )
    state.save()
    try:
        head_args = [
            "--head", "--port", str(gcs), "--num-cpus", "0",
            "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dash),
            "--ray-client-server-port", str(client),
        ]  # fmt: skip
        head = _start_node(state, "head", head_args, "head")
        state.nodes.append(head)
        state.save()
        _wait_for_nodes(state, 1, head)
        _start_workers(state)
    except BaseException:
        down()
        raise
    return state


def _start_workers(state: State) -> None:
    """Start every worker the shape has and no live `ray start` stands for."""
    for group in state.groups:
        live = [n for n in state.nodes if n.role == group.name and _pid_alive(n.pid)]
        for _ in range(group.replicas - len(live)):
            args = ["--address", state.gcs_address, "--num-cpus", str(group.cpus)]
            if group.gpus:
                args += ["--num-gpus", str(group.gpus)]
            number = sum(n.role == group.name for n in state.nodes) + 1
            node = _start_node(state, group.name, args, f"{group.name}-{number}")
            node.logical_gpus = group.gpus
            state.nodes.append(node)
            state.save()
            # One at a time: a raylet has 30 s to register, and several
            # starting at once on a small machine can miss that.
            _wait_for_nodes(state, sum(_pid_alive(n.pid) for n in state.nodes), node)


def raylet_pid(state: State, node_id: str) -> int | None:
    """The raylet process of one node of this cluster (to kill it in a test, say)."""
    flag = f"--node_id={node_id}".encode()
    for pid in cluster_pids(state):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"/raylet") and flag in argv:
            return pid
    return None


def cluster_pids(state: State) -> list[int]:
    """The processes of this cluster: the `ray start` processes `up` started and every
    process that names the cluster's own temp dir on its command line (GCS, raylets,
    dashboard, agents, the workers started since)."""
    pids = {n.pid for n in state.nodes if _pid_alive(n.pid)}
    marker = state.temp_dir.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "cmdline").read_bytes():
                pids.add(int(entry.name))
        except OSError:
            continue
    return sorted(p for p in pids if _pid_alive(p))


def down() -> bool:
    """End this cluster's processes (SIGTERM, then SIGKILL); False when none was up."""
    state = State.load()
    if state is None:
        return False
    for sig, wait_s in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, STOP_TIMEOUT_S)):
        pids = cluster_pids(state)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while pids and time.monotonic() < deadline:
            _reap()
            pids = [p for p in pids if _pid_alive(p)]
            time.sleep(0.2)
        if not pids:
            break
    shutil.rmtree(state.temp_dir, ignore_errors=True)
    state_file().unlink(missing_ok=True)
    return True


def _reap() -> None:
    """Collect the `ray start` children of this process, so they are not left as zombies."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
