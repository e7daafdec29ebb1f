"""The echo application without Serve running: it loads from its import path, its
config passes Serve's schema (the autoscaling variant too), and importing the
package for either loads none of the commands."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from ray.serve import Application
from ray.serve.schema import ServeDeploySchema

from jobs import echo
from jobs.echo.config import MIDDLEWARE_IMPORT_PATH
from jobs.echo.middleware import WATCH_OFF, SkipDisconnectWatch
from jobs.runtime import ray_internals
from tests.support import REPO_ROOT


def test_app_loads_from_its_import_path():
    application = ray_internals.application_from_import_path(echo.IMPORT_PATH)
    assert isinstance(application, Application)
    assert echo.IMPORT_PATH == "jobs.echo:app"
    assert echo.Echo.name == echo.DEPLOYMENT_NAME == "Echo"


def test_serve_config_is_a_valid_serve_deploy_config():
    schema = ServeDeploySchema.model_validate(echo.SERVE_CONFIG)
    (application,) = schema.applications
    assert (application.name, application.import_path, application.route_prefix) == (
        "echo",
        "jobs.echo:app",
        "/",
    )
    (deployment,) = application.deployments
    assert deployment.name == "Echo"
    assert deployment.num_replicas == echo.DEPLOYMENT_OPTIONS["num_replicas"]


def test_the_package_is_import_light():
    """Replicas import jobs.echo:app; the chart reads SERVE_CONFIG: neither loads the commands."""
    code = (
        "import json, sys, jobs.echo; jobs.echo.SERVE_CONFIG; ray = 'ray' in sys.modules; "
        "jobs.echo.app; print(json.dumps([ray, sorted(m for m in sys.modules if 'jobs' in m)]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    ray_before_app, modules = json.loads(done.stdout)
    assert not ray_before_app
    assert modules == [
        "jobs",
        "jobs.echo",
        "jobs.echo.config",
        "jobs.echo.parsing",
        "jobs.echo.service",
    ]


def test_autoscaling_variant_is_valid():
    """SERVE_CONFIG with the RayService's autoscaling replicas passes Serve's schema."""
    deployment = {k: v for k, v in echo.DEPLOYMENT_OPTIONS.items() if k != "num_replicas"}
    deployment["autoscaling_config"] = {
        "min_replicas": 2,
        "max_replicas": 4,
        "target_ongoing_requests": 8,
    }
    (app,) = echo.SERVE_CONFIG["applications"]
    config = {"applications": [{**app, "deployments": [{"name": "Echo", **deployment}]}]}
    ServeDeploySchema.model_validate(config)


def test_replicas_load_the_middleware_their_environment_names():
    """What Serve loads from RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH, loaded Serve's way."""
    assert echo.SERVE_ENV["RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"] == MIDDLEWARE_IMPORT_PATH
    loaded = ray_internals.http_middlewares_from_import_path(MIDDLEWARE_IMPORT_PATH)
    assert [middleware.cls for middleware in loaded] == [SkipDisconnectWatch]


def test_every_http_request_skips_serves_disconnect_watch():
    """By Serve's own parser, even when the client asked for the watch; other
    scopes pass through untouched."""
    seen = []

    async def inner(scope, receive, send):
        seen.append(scope)

    client_asks_for_watch = [(b"host", b"echo"), (WATCH_OFF[0], b"?0")]
    app = SkipDisconnectWatch(inner)
    asyncio.run(app({"type": "http", "headers": list(client_asks_for_watch)}, None, None))
    asyncio.run(app({"type": "lifespan"}, None, None))
    http, lifespan = seen
    assert not ray_internals.skips_disconnect_watch(client_asks_for_watch)
    assert ray_internals.skips_disconnect_watch(http["headers"])
    assert http["headers"][:2] == client_asks_for_watch
    assert lifespan == {"type": "lifespan"}
