"""The echo service's names, limits and settings: what the RayService manifest,
``ray101 serve`` and the docs share, written once.

Plain data (Serve replicas load it with the application, so it imports nothing).
Why each speed setting has the value it has: docs/echo.md.
"""

from __future__ import annotations

from typing import Any

# Names shared with the RayService manifest (serveConfigV2) and the docs.
APP_NAME = "echo"
DEPLOYMENT_NAME = "Echo"
IMPORT_PATH = "jobs.echo:app"
MIDDLEWARE_IMPORT_PATH = "jobs.echo.middleware:middlewares"
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
# - RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH: the middleware each replica's
#   HTTP server runs (jobs/echo/middleware.py): the echo needs no watch for a
#   client going away, and skipping it saves two tasks per request.
SERVE_ENV: dict[str, str] = {
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
    "RAY_SERVE_HAPROXY_TUNE_BUFSIZE": str(128 * 1024),
    "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH": MIDDLEWARE_IMPORT_PATH,
}
# The knobs that only work with an HAProxy binary.
HAPROXY_ENV = ("RAY_SERVE_ENABLE_HA_PROXY", "RAY_SERVE_HAPROXY_TUNE_BUFSIZE")

# Added when every node of the cluster runs on this machine (an embedded Ray,
# or the raylets of `ray101 cluster up`); then Serve also runs one proxy, on
# the head: proxies on several nodes of one machine would bind the same port.
# - HAProxy starts 4 threads by default; on a laptop they compete with the
#   replicas and the client for the same cores, and one is enough at this load.
# - A replica that stops normally keeps serving for 30 s so an external load
#   balancer can deregister it; locally HAProxy is the only balancer and is
#   told at once, so Ctrl-C need not wait.
# - Ray runs its workers at niceness 15 so batch tasks yield to the raylet and
#   the GCS. The replicas and HAProxy are the service here, and a client on the
#   same cores (wrk, a browser) runs at 0 and takes the CPU first: at 0 the
#   echo's p99 went from 14.5 to 12.3 ms (medians of 4 rounds, docs/echo.md).
#   On Kubernetes each pod has its own CPUs, and the default stays.
ONE_MACHINE_ENV: dict[str, str] = {
    "RAY_SERVE_HAPROXY_NBTHREAD": "1",
    "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "0",
    "RAY_worker_niceness": "0",
}
# Added on an embedded Ray only: HAProxy's per-request metrics are parsed in
# Python by the proxy actor; without a Prometheus to read them they only take
# CPU from the replicas (a `ray start` cluster may have one: its metrics stay).
EMBEDDED_ENV: dict[str, str] = {
    "RAY_SERVE_HAPROXY_METRICS_ENABLED": "0",
}
