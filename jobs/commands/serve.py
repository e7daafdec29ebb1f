"""``ray101 serve``: the echo service in the foreground until Ctrl-C or SIGTERM,
or with ``--from-manifest FILE`` a RayService's Serve config on a running cluster.

Both signals stop it the same way (SIGTERM arrives as
:class:`jobs.runtime.command.Terminated`, a KeyboardInterrupt): Serve is shut down,
or only the application deleted when Serve was already running; then the
command ends as every command does, with one line and exit 130 (Ctrl-C) or
143 (SIGTERM). A second signal while stopping ends it at once.

With ``--from-manifest``: KubeRay deploys a RayService by sending its
``serveConfigV2`` to the head's dashboard (``PUT /api/serve/applications/``);
this sends the same document to the local cluster (or ``--address``), waits
until every application is RUNNING, and calls it over HTTP. Two settings are changed, because they
describe the pod, not the application: ``http_options.host`` becomes
127.0.0.1 and ``http_options.port`` a free port (or ``--http-port``), so the
proxies neither listen on every interface of this machine nor collide with
another server on 8000. The applications import ``jobs`` from the cluster's
Python (the image's, on Kubernetes; this checkout's, locally).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Any, NoReturn

from jobs import echo
from jobs.client import dashboard, kuberay, localcluster
from jobs.echo.config import APP_NAME, DEFAULT_HOST, DEFAULT_PORT
from jobs.echo.lifecycle import (
    Running,
    check_port_free,
    serve_running,
    start,
    stop_within,
    url_for,
    wait_until_serving,
)
from jobs.echo.workload import CHECKS, call
from jobs.runtime import flags
from jobs.runtime.command import EXIT_FAILED, EXIT_OK, setup_logging
from jobs.runtime.connect import connect
from jobs.runtime.errors import UsageError
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


def add_manifest_arguments(parser: argparse.ArgumentParser) -> None:
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
        type=flags.port_number,
        default=None,
        help="Serve's HTTP port (default: a free one)",
    )
    group.add_argument(
        "--timeout",
        type=flags.positive_float,
        default=READY_TIMEOUT_S,
        help=f"seconds to wait for RUNNING (default {READY_TIMEOUT_S:.0f})",
    )


def refuse_manifest_flags(args: argparse.Namespace) -> None:
    """Without --from-manifest, its own flags would be silently ignored: refuse them."""
    given = [name for name, default in MANIFEST_ONLY.items() if getattr(args, name) != default]
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise UsageError(f"ray101 serve: {flag} goes with --from-manifest")


def deploy_manifest(args: argparse.Namespace) -> int:
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ray101 serve``'s flags, the foreground server's and ``--from-manifest``'s
    (:func:`add_manifest_arguments`), and :func:`run`."""
    parser.description = (
        "Run the echo service in the foreground; Ctrl-C or SIGTERM stops it. "
        "With --from-manifest, deploy a RayService's Serve config instead."
    )
    parser.set_defaults(func=run)
    # Defaults are filled in after parsing, so that --from-manifest can refuse
    # the flags of the foreground server when they are given.
    parser.add_argument(
        "--host",
        default=None,
        help=f"interface to listen on (default {DEFAULT_HOST}; 0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--port",
        type=flags.port_number,
        default=None,
        help=f"HTTP port (default {DEFAULT_PORT})",
    )
    flags.add_address_arguments(parser)
    add_manifest_arguments(parser)


FOREGROUND_ONLY = ("host", "port", "num_cpus")


def serve_from_manifest(args: argparse.Namespace) -> int:
    given = [name for name in FOREGROUND_ONLY if getattr(args, name) is not None]
    if given:
        flag = "--" + given[0].replace("_", "-")
        hint = "; Serve's port there is --http-port" if given[0] == "port" else ""
        raise UsageError(
            f"ray101 serve: {flag} is the foreground server's, not --from-manifest's{hint}"
        )
    return deploy_manifest(args)


def serve_foreground(args: argparse.Namespace) -> NoReturn:
    """Until a signal: it always ends with KeyboardInterrupt (or an error)."""
    with connect(args.address, args.num_cpus) as connection:
        if connection.embedded:
            # On a joined cluster the port is the nodes' business (and may be
            # Serve's own, already listening); here it is this machine's.
            check_port_free(args.host, args.port)
        owns_serve = not serve_running()
        running: Running | None = None
        try:
            running = start(args.host, args.port, connection)
            print(
                f"Echo service ready at {running.url} (Serve application '{APP_NAME}'); "
                "Ctrl-C stops it",
                flush=True,
            )
            while True:
                signal.pause()
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM as Terminated
            print("Stopping the echo service …", flush=True)
            raise  # run_command's one line and exit code, once Serve and Ray are down
        finally:
            stop_within(running, owns_serve)


def run(args: argparse.Namespace) -> int:
    """``ray101 serve [--host] [--port] [--address] [--num-cpus]``, or
    ``ray101 serve --from-manifest FILE [--name] [--http-port] [--timeout] [--address]``."""
    setup_logging()
    if args.from_manifest is not None:
        return serve_from_manifest(args)
    refuse_manifest_flags(args)
    args.host = args.host or DEFAULT_HOST
    args.port = args.port or DEFAULT_PORT
    return serve_foreground(args)
