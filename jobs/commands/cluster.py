"""``ray101 cluster up | down | status``: the command over :mod:`jobs.client.localcluster`."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from jobs.client import dashboard
from jobs.client.cluster_shape import DEFAULT_VALUES
from jobs.client.localcluster import GROUP_LABEL, STOP_TIMEOUT_S, State, down, running, up
from jobs.runtime.command import EXIT_FAILED, EXIT_OK, setup_logging
from jobs.runtime.flags import ArgumentParser, non_negative_int


def status_of(state: State) -> dict[str, Any]:
    """The nodes (alive, group, resources) and the addresses: what `status` reports."""
    gpus_of = {n.role for n in state.nodes if n.logical_gpus}
    nodes = []
    for node in sorted(dashboard.nodes(state.dashboard_url), key=_node_order):
        group = (node.get("labels") or {}).get(GROUP_LABEL, "?")
        nodes.append(
            {
                "node_id": node["node_id"],
                "state": node.get("state", "?"),
                "alive": node.get("state") == "ALIVE",
                "head": bool(node.get("is_head_node")),
                "group": group,
                "node_ip": node.get("node_ip"),
                "node_manager_port": node.get("node_manager_port"),
                "resources": node.get("resources_total") or {},
                "logical_gpus": group in gpus_of,
            }
        )
    return {
        "dashboard_url": state.dashboard_url,
        "job_api_url": state.dashboard_url,
        "gcs_address": state.gcs_address,
        "client_address": state.client_address,
        "temp_dir": state.temp_dir,
        "session_dir": str(state.session_dir),
        "nodes": nodes,
    }


def describe(status: dict[str, Any]) -> list[str]:
    """:func:`status_of` as `status` prints it."""
    lines = [
        f"dashboard and job API: {status['dashboard_url']}   (ray101 submit, ray job submit)",
        f"GCS:                   {status['gcs_address']}   (ray101 run NAME --address)",
        f"Ray Client:            {status['client_address']}",
        f"temp dir:              {status['temp_dir']}",
        f"session dir:           {status['session_dir']}   (logs, metrics/prometheus)",
        "nodes:",
    ]
    for node in status["nodes"]:
        total = node["resources"]
        shown = [f"{total.get('CPU', 0):g} CPU"]
        if total.get("GPU"):
            logical = " (logical: no device)" if node["logical_gpus"] else ""
            shown.append(f"{total['GPU']:g} GPU{logical}")
        shown.append(f"{total.get('object_store_memory', 0) / 1e6:.0f} MB object store")
        lines.append(
            f"  {node['state']:5}  {node['group']:5}  {node['node_id'][:12]}  "
            f"{node['node_ip']}:{node['node_manager_port'] or '?'}  {', '.join(shown)}"
        )
    return lines


def report(status: dict[str, Any], as_json: bool) -> None:
    print(json.dumps(status, sort_keys=True) if as_json else "\n".join(describe(status)))


def _node_order(node: dict[str, Any]) -> tuple:
    return (not node.get("is_head_node"), node.get("state") != "ALIVE", node["node_id"])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ray101 cluster up|down|status``'s flags, and :func:`run`."""
    parser.description = "a multi-node Ray on this machine, shaped like the kind RayCluster"
    parser.set_defaults(func=run)
    sub = parser.add_subparsers(dest="action", required=True, metavar="up|down|status")
    as_json = ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print one JSON object")
    start = sub.add_parser("up", help="start the cluster (nothing when it runs)", parents=[as_json])
    start.add_argument(
        "--values",
        default=DEFAULT_VALUES,
        metavar="FILE",
        help=f"chart values over values.yaml that shape it (default {DEFAULT_VALUES})",
    )
    start.add_argument(
        "--workers",
        type=non_negative_int,
        default=None,
        help="CPU workers instead of the values' replicas",
    )
    stop = sub.add_parser("down", help="stop what `up` started", parents=[as_json])
    stop.add_argument(
        "--grace-period",
        type=non_negative_int,
        default=int(STOP_TIMEOUT_S),
        metavar="S",
        help=f"seconds between SIGTERM and SIGKILL (default {STOP_TIMEOUT_S:.0f})",
    )
    sub.add_parser("status", help="nodes, resources and addresses", parents=[as_json])


def run(args: argparse.Namespace) -> int:
    """``ray101 cluster up|down|status``."""
    setup_logging()
    if args.action == "up":
        started = running() is None
        begin = time.perf_counter()
        try:
            state = up(args.values, args.workers)
        except (RuntimeError, subprocess.CalledProcessError) as exc:  # stopped again by up
            print(f"error: ray101 cluster up: {exc}", file=sys.stderr)
            return EXIT_FAILED
        word = f"started in {time.perf_counter() - begin:.1f} s" if started else "running"
        print(f"local cluster {word}", file=sys.stderr)
        report(status_of(state), args.json)
        return EXIT_OK
    if args.action == "down":
        begin = time.perf_counter()
        stopped = down(grace_s=args.grace_period)
        took = f" in {time.perf_counter() - begin:.1f} s" if stopped else ""
        print(f"local cluster {'stopped' if stopped else 'not running'}{took}", file=sys.stderr)
        if args.json:
            seconds = round(time.perf_counter() - begin, 3)
            print(json.dumps({"stopped": stopped, "seconds": seconds}))
        return EXIT_OK
    state = running()
    if state is None:
        print("local cluster not running (ray101 cluster up)", file=sys.stderr)
        return EXIT_FAILED
    report(status_of(state), args.json)
    return EXIT_OK
