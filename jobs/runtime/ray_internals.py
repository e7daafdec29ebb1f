"""Every use of Ray's private modules, in one place.

Each function names the public API it stands in for and why that is not
enough. ``tests/runtime/test_ray_internals.py`` calls each one against the installed Ray,
so an upgrade that moves or removes one fails there with the name of what
changed, instead of deep inside a workload.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any


class RayInternalsChanged(RuntimeError):
    """A private Ray API this project relies on is gone or has moved."""


def _attr(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        import ray

        raise RayInternalsChanged(
            f"Ray {ray.__version__} has no {module}.{name} (jobs/runtime/ray_internals.py relies on it): {exc}"
        ) from exc


# Every private name used, as (module, attribute): the test checks them all.
PRIVATE_NAMES: tuple[tuple[str, str], ...] = (
    ("ray._private.authentication.authentication_token_setup", "_enable_token_auth"),
    ("ray.serve._private.constants", "SERVE_CONTROLLER_NAME"),
    ("ray.serve._private.constants", "SERVE_NAMESPACE"),
    ("ray._common.utils", "import_attr"),
    ("ray.serve._private.api", "call_user_app_builder_with_args_if_necessary"),
    ("ray._private.worker", "_global_node"),
    ("ray._private.state", "actors"),
    ("ray._private.runtime_env.packaging", "create_package"),
    ("ray.serve.context", "_disconnect"),
    ("ray._private.ray_constants", "PROMETHEUS_SERVICE_DISCOVERY_FILE"),
    ("ray._private.worker", "global_worker"),
    ("ray._private.state", "state"),
    ("ray.serve._private.constants", "SERVE_HTTP_REQUEST_DISCONNECT_DISABLED_HEADER"),
    ("ray.serve._private.http_util", "parse_disconnect_disabled_header"),
    ("ray.serve._private.http_util", "validate_http_proxy_callback_return"),
    ("ray.serve._private.utils", "call_function_from_import_path"),
)


def enable_token_auth() -> None:
    """Make this driver send the Ray token when it joins a cluster by address.

    Public equivalent: ``RAY_AUTH_MODE=token`` in the environment before Ray is
    imported. Ray reads that variable once at import and caches it, so setting
    it later has no effect; this refreshes the cached setting too.
    """
    _attr("ray._private.authentication.authentication_token_setup", "_enable_token_auth")()


def serve_controller() -> Any | None:
    """The Serve controller actor of this cluster, or None when Serve is not running.

    Public equivalent: ``serve.status()``, which starts a Serve client (and
    with it a controller) when none is running; this only looks.
    """
    import ray

    name = _attr("ray.serve._private.constants", "SERVE_CONTROLLER_NAME")
    namespace = _attr("ray.serve._private.constants", "SERVE_NAMESPACE")
    try:
        return ray.get_actor(name, namespace=namespace)
    except ValueError:
        return None


def disconnect_watch_off_header() -> tuple[bytes, bytes]:
    """The request header that tells a Serve replica not to watch the client for
    a disconnect while its handler runs, as an ASGI header (name, value).

    Public equivalent: none. A client may send ``x-request-disconnect-disabled:
    ?1`` itself; the name is in Serve's private constants, and ``?1`` is the
    value Serve's parser takes for true.
    """
    name = _attr("ray.serve._private.constants", "SERVE_HTTP_REQUEST_DISCONNECT_DISABLED_HEADER")
    return name.encode(), b"?1"


def skips_disconnect_watch(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether a Serve replica skips its disconnect watch for a request with
    these ASGI headers, by Serve's own parser. Public equivalent: none."""
    parse = _attr("ray.serve._private.http_util", "parse_disconnect_disabled_header")
    return bool(parse(dict(headers)))


def http_middlewares_from_import_path(import_path: str) -> list[Any]:
    """The middlewares Serve's HTTP servers add for
    ``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH``, loaded and checked as Serve
    loads them. Public equivalent: none; Serve does it inside each replica."""
    call = _attr("ray.serve._private.utils", "call_function_from_import_path")
    validate = _attr("ray.serve._private.http_util", "validate_http_proxy_callback_return")
    return list(validate(call(import_path)))


def application_from_import_path(import_path: str) -> Any:
    """The Serve application at ``module:attr``, built the way a Serve config builds it.

    Public equivalent: ``serve deploy`` / a RayService's ``import_path``; there is
    no public function that loads an import path into an Application for
    ``serve.run``, and importing it by hand would skip the builder call.
    """
    import_attr = _attr("ray._common.utils", "import_attr")
    build = _attr("ray.serve._private.api", "call_user_app_builder_with_args_if_necessary")
    return build(import_attr(import_path), {})


def forget_serve_client() -> None:
    """Drop this driver's cached Serve client.

    Public equivalent: ``serve.shutdown()``, which keeps the cached handle when
    the controller it points at is already dead (a GCS restart, another cluster).
    """
    _attr("ray.serve.context", "_disconnect")()


def prometheus_discovery_file_name() -> str:
    """The name of the Prometheus file_sd file Ray writes into its session directory.

    Public equivalent: the name given in Ray's metrics documentation; reading
    the constant keeps a rename in Ray from silently breaking the scrape.
    """
    return _attr("ray._private.ray_constants", "PROMETHEUS_SERVICE_DISCOVERY_FILE")


def gcs_kv_get(key: bytes, namespace: bytes, timeout_s: float) -> bytes | None:
    """Read one key from the GCS's key-value store, failing after ``timeout_s``.

    Public equivalent: none with a timeout; ``ray.experimental.internal_kv``
    waits as long as the GCS client's reconnection window, which is what a
    probe for "does the GCS answer now" must not do.
    """
    worker = _attr("ray._private.worker", "global_worker")
    return worker.gcs_client.internal_kv_get(key, namespace, timeout=timeout_s)


def global_node() -> Any | None:
    """The node this driver started (embedded Ray), or None.

    Public equivalent: none; ``ray.nodes()`` needs a live GCS, and the question
    asked of it here is whether the node's own processes are still alive.
    """
    return _attr("ray._private.worker", "_global_node")


def actors() -> dict[str, dict[str, Any]]:
    """Every actor the GCS knows, dead ones included, by id.

    Public equivalent: ``ray.util.state.list_actors``, which needs the
    dashboard's state API; the test Ray runs without a dashboard.
    """
    return _attr("ray._private.state", "actors")()


def create_working_dir_package(directory: str | Path, target: str | Path) -> None:
    """Zip ``directory`` exactly as ``ray job submit --working-dir`` uploads it.

    Public equivalent: the upload itself, which needs a running job server.
    """
    create = _attr("ray._private.runtime_env.packaging", "create_package")
    create(str(directory), Path(target), include_gitignore=True, logger=None)


def task_runs(names: set[str]) -> list[dict[str, Any]]:
    """This job's tasks whose function is named in ``names``, as the GCS recorded them:
    ``name``, ``submitted`` (epoch seconds) and, once its worker has reported it,
    ``ran`` (start and end of the function itself, epoch seconds).

    Public equivalent: ``ray.util.state.list_tasks``, which needs the dashboard's
    state API (the embedded Ray runs without a dashboard) and has no execution
    times; ``ray.timeline()`` has them but not which task they belong to.
    """
    import ray
    from ray.core.generated import common_pb2

    job_id = ray.get_runtime_context().get_job_id()
    submitted_states = (common_pb2.PENDING_ARGS_AVAIL, common_pb2.PENDING_NODE_ASSIGNMENT)
    runs: dict[tuple[bytes, int], dict[str, Any]] = {}
    for event in _attr("ray._private.state", "state")._get_all_task_events():
        run = runs.setdefault((event.task_id, event.attempt_number), {})
        if event.HasField("task_info"):
            if event.task_info.job_id.hex() != job_id:
                continue
            run["name"] = event.task_info.func_or_class_name
        stamps = event.state_updates.state_ts_ns
        for state in submitted_states:
            if state in stamps:
                t = stamps[state] / 1e9
                run["submitted"] = min(t, run.get("submitted", t))
        for profile in event.profile_events.events:
            if profile.event_name == "task:execute":
                run["ran"] = (profile.start_time / 1e9, profile.end_time / 1e9)
    return [r for r in runs.values() if r.get("name") in names and "submitted" in r]
