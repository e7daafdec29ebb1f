"""The tutorial's echo service on Ray Serve: correct on every input, and fast.

``GET /?data=X`` and ``POST /`` with ``{"data": X}`` answer ``Received data: X``
as text/plain; a missing or malformed ``data`` is a 400 with a JSON
``{"error": ...}``, an oversized one a 413; ``GET /-/healthz`` answers 200.

``app`` is the bound application a RayService deploys with
``import_path: jobs.echo:app``; ``SERVE_CONFIG`` is that RayService's
serveConfigV2 and ``SERVE_ENV`` its pods' environment. The package:

- ``config``: names, limits and settings, plain data;
- ``parsing`` and ``service``: the requests and the deployment (all a replica imports);
- ``middleware``: what each replica's HTTP server runs before Serve's request path;
- ``lifecycle``: starting and stopping Serve with the application;
- ``workload``: ``ray101 run echo`` (start, call, check, stop).

``ray101 serve`` (until Ctrl-C or SIGTERM) is ``jobs.commands.serve``.

Importing the package costs nothing: ``app`` (and with it Ray Serve) loads on
first use, so the chart and the load test read ``SERVE_CONFIG`` and friends
without Ray, and replicas load only the service, never the commands.
"""

from typing import Any

from jobs.echo.config import (
    APP_NAME,
    CLUSTER_AUTOSCALING,
    DEPLOYMENT_NAME,
    DEPLOYMENT_OPTIONS,
    EMBEDDED_ENV,
    IMPORT_PATH,
    ONE_MACHINE_ENV,
    SERVE_CONFIG,
    SERVE_ENV,
    rayservice_serve_config,
)


def __getattr__(name: str) -> Any:
    if name in ("app", "Echo"):
        from jobs.echo import service

        return getattr(service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "APP_NAME",
    "CLUSTER_AUTOSCALING",
    "DEPLOYMENT_NAME",
    "DEPLOYMENT_OPTIONS",
    "EMBEDDED_ENV",
    "IMPORT_PATH",
    "ONE_MACHINE_ENV",
    "SERVE_CONFIG",
    "SERVE_ENV",
    "Echo",
    "app",
    "rayservice_serve_config",
]
