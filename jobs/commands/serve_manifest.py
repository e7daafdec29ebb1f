"""``ray101 serve --from-manifest FILE``: a RayService's Serve config on a running cluster.

KubeRay deploys a RayService by sending its ``serveConfigV2`` to the head's
dashboard (``PUT /api/serve/applications/``); this sends the same document to
the local cluster (or ``--address``), waits until every application is
RUNNING, and calls it over HTTP. Two settings are changed, because they
describe the pod, not the application: ``http_options.host`` becomes
127.0.0.1 and ``http_options.port`` a free port (or ``--http-port``), so the
proxies neither listen on every interface of this machine nor collide with
another server on 8000. The applications import ``jobs`` from the cluster's
Python (the image's, on Kubernetes; this checkout's, locally).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from jobs import echo
from jobs.client import dashboard, kuberay, localcluster
from jobs.echo.lifecycle import url_for, wait_until_serving
from jobs.echo.workload import CHECKS, call
from jobs.runtime.command import EXIT_FAILED, EXIT_OK
from jobs.runtime.errors import UsageError
from jobs.runtime.flags import port_number, positive_float
from jobs.runtime.ports import free_port

APPLICATIONS = "/api/serve/applications/"
READY_TIMEOUT_S = 180.0


def deploy(address: str, config: dict[str, Any]) -> None:
    try:
        dashboard.request(address, APPLICATIONS, method="PUT", body=config, timeout_s=60)
    except dashboard.DashboardError as exc:
        if exc.status in (401, 403):
            raise UsageError(f"the dashboard at {address} refused the token ({exc})") from None
        raise UsageError(f"Serve rejected the config: {exc}") from None


def wait_running(address: str, names: list[str], timeout_s: float) -> dict[str, Any]:
    """Serve's status once every application is RUNNING and every proxy HEALTHY;
    RuntimeError when an application fails.

    The proxies count too: on one machine every node's proxy binds the same
    port (SO_REUSEPORT), and one still starting answers 404 "Path '/' not
    found" or 503 "Route table is not populated yet" to the connections the
    kernel hands it (a CI run saw both right after RUNNING)."""
    deadline = time.monotonic() + timeout_s
    statuses: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = dashboard.request(address, APPLICATIONS) or {}
        apps = answer.get("applications") or {}
        statuses = {n: (apps.get(n) or {}).get("status", "NOT_STARTED") for n in names}
        failed = [n for n, s in statuses.items() if s in ("DEPLOY_FAILED", "UNHEALTHY")]
        if failed:
            message = (apps.get(failed[0]) or {}).get("message", "")
            raise RuntimeError(f"application {failed[0]} is {statuses[failed[0]]}: {message}")
        proxies = {
            node[:8]: (proxy or {}).get("status", "?")
            for node, proxy in (answer.get("proxies") or {}).items()
        }
        statuses["proxies"] = proxies
        if (
            all(statuses[n] == "RUNNING" for n in names)
            and proxies
            and all(s == "HEALTHY" for s in proxies.values())
        ):
            return answer
        time.sleep(1.0)
    raise RuntimeError(f"not RUNNING within {timeout_s:.0f} s: {statuses}")


def check_http(config: dict[str, Any], port: int) -> list[str]:
    """Call each application; the echo gets its own checks. Returns failures."""
    failures = []
    for app in config["applications"]:
        prefix = app.get("route_prefix", "/")
        url = url_for("127.0.0.1", port).rstrip("/") + prefix
        if app.get("import_path") == echo.IMPORT_PATH:
            wait_until_serving(url)
            for check in CHECKS:
                ok, seen = call(url, check)
                print(f"  {'ok ' if ok else 'BAD'} {check.label}: {seen}")
                if not ok:
                    failures.append(f"{app['name']}: {check.label} answered {seen}")
        else:
            import requests

            reply = requests.get(url, timeout=10)
            print(f"  {'ok ' if reply.status_code < 500 else 'BAD'} GET {url}: {reply.status_code}")
            if reply.status_code >= 500:
                failures.append(f"{app['name']}: GET {prefix} answered {reply.status_code}")
    return failures


# The flags that only mean something with --from-manifest, and their defaults.
MANIFEST_ONLY = {"name": None, "http_port": None, "timeout": READY_TIMEOUT_S}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ray101 serve``'s RayService mode: ``--from-manifest`` and the flags it takes."""
    group = parser.add_argument_group(
        "a RayService instead",
        "deploy a RayService's serveConfigV2 to a running cluster (the local one, or the "
        "dashboard given as --address http://HOST:8265), wait until RUNNING, then call it",
    )
    group.add_argument(
        "--from-manifest",
        metavar="FILE",
        default=None,
        help="a YAML file, '-' (stdin) or the chart's directory",
    )
    group.add_argument("--name", default=None, help="which RayService of the manifest")
    group.add_argument(
        "--http-port",
        type=port_number,
        default=None,
        help="Serve's HTTP port (default: a free one)",
    )
    group.add_argument(
        "--timeout",
        type=positive_float,
        default=READY_TIMEOUT_S,
        help=f"seconds to wait for RUNNING (default {READY_TIMEOUT_S:.0f})",
    )


def refuse_manifest_flags(args: argparse.Namespace) -> None:
    """Without --from-manifest, its own flags would be silently ignored: refuse them."""
    given = [name for name, default in MANIFEST_ONLY.items() if getattr(args, name) != default]
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise UsageError(f"ray101 serve: {flag} goes with --from-manifest")


def run(args: argparse.Namespace) -> int:
    """Deploy ``args.from_manifest``'s RayService config, wait for it, call it."""
    source = args.from_manifest
    obj = kuberay.select(kuberay.load(source), "RayService", args.name, source)
    port = args.http_port or free_port()
    config = kuberay.serve_config(obj, source, port)
    address = localcluster.job_api_address(args.address)
    deploy(address, config)
    names = [a["name"] for a in config["applications"]]
    print(f"deployed {', '.join(names)} of {kuberay.name_of(obj)} to {address}", file=sys.stderr)
    try:
        status = wait_running(address, names, args.timeout)
        # A Serve that was already running keeps the HTTP port it started with.
        port = int((status.get("http_options") or {}).get("port") or port)
        failures = check_http(config, port)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if failures:
        print(f"error: {'; '.join(failures)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"serving at {url_for('127.0.0.1', port)}")
    return EXIT_OK
