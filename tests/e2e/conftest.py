"""Fixtures for the end-to-end tests against a cluster where ray101 is deployed.

They run with ``pytest -m e2e tests/e2e`` (``make e2e`` runs them after
``scripts/e2e-kind``) against the current kube context, or RAY101_KUBE_CONTEXT.
They are skipped only when no kube context is reachable; a reachable cluster
without ray101 is a failure that says what is missing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tools.chart import REPO_ROOT, read_env

# The fixed names of the deployment, from names.env (the same file scripts/lib/names.sh sources).
_NAMES = read_env(REPO_ROOT / "names.env")
NAMESPACE = _NAMES["NAMESPACE"]
RAYCLUSTER = _NAMES["RAYCLUSTER"]
HEAD_SVC = _NAMES["HEAD_SVC"]
MONGO_STS = _NAMES["MONGO_STS"]
MONGO_POD = _NAMES["MONGO_POD"]
MONGO_SECRET = _NAMES["MONGO_SECRET"]
MONGO_DB = _NAMES["MONGO_DB"]
LOADER_JOB = _NAMES["LOADER_JOB"]
BUCKET_JOB = _NAMES["BUCKET_JOB"]
RAYSERVICE = _NAMES["RAYSERVICE"]
SERVE_SVC = _NAMES["SERVE_SVC"]
SERVE_PORT = int(_NAMES["SERVE_PORT"])
RAYJOB_PREFIX = _NAMES["RAYJOB_PREFIX"]

RAY_GROUP, RAY_VERSION = "ray.io", "v1"

# Seconds to wait for a condition; the deployment is normally done already
# (scripts/e2e-kind waited for it), so this only covers a test run on its own.
TIMEOUT_S = float(os.environ.get("RAY101_E2E_TIMEOUT", "1800"))
POLL_S = 5.0


class Finished(Exception):
    """Raised by a probe when the awaited state can no longer come."""


def wait_for(what: str, probe: Callable[[], tuple[bool, Any]], timeout: float = TIMEOUT_S) -> Any:
    """Call ``probe`` until it returns (True, value); fail naming ``what`` and the last state.

    ``probe`` may raise ``Finished`` to stop early with a failure (e.g. a job that failed).
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            ok, last = probe()
        except Finished as exc:
            pytest.fail(f"{what}: {exc}")
        if ok:
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last state: {last}")
        time.sleep(POLL_S)


@dataclass
class Kube:
    core: Any
    apps: Any
    batch: Any
    custom: Any
    api_client: Any
    context: str

    def ray(self, plural: str, name: str) -> dict | None:
        """A ray.io object in the namespace, or None when it does not exist."""
        from kubernetes.client.exceptions import ApiException

        try:
            return self.custom.get_namespaced_custom_object(
                RAY_GROUP, RAY_VERSION, NAMESPACE, plural, name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def secret_value(self, name: str, key: str) -> str:
        import base64

        data = self.core.read_namespaced_secret(name, NAMESPACE).data or {}
        if key not in data:
            pytest.fail(f"Secret {NAMESPACE}/{name} has no key {key!r} (keys: {sorted(data)})")
        return base64.b64decode(data[key]).decode()


@pytest.fixture(scope="session")
def kube() -> Kube:
    """API clients for the current (or RAY101_KUBE_CONTEXT) context; skip if none answers."""
    from kubernetes import client, config

    wanted = os.environ.get("RAY101_KUBE_CONTEXT") or None
    try:
        config.load_kube_config(context=wanted)
        context = wanted or config.list_kube_config_contexts()[1]["name"]
    except (config.ConfigException, OSError) as exc:
        try:
            config.load_incluster_config()
            context = "in-cluster"
        except config.ConfigException:
            pytest.skip(f"no kube context ({exc}); run scripts/e2e-kind or make e2e")
    try:
        client.VersionApi().get_code(_request_timeout=10)
    except Exception as exc:  # any failure to answer means: no reachable cluster
        pytest.skip(f"kube context {context!r} is not reachable ({type(exc).__name__})")
    api_client = client.ApiClient()
    kube = Kube(
        core=client.CoreV1Api(api_client),
        apps=client.AppsV1Api(api_client),
        batch=client.BatchV1Api(api_client),
        custom=client.CustomObjectsApi(api_client),
        api_client=api_client,
        context=context,
    )
    names = [ns.metadata.name for ns in kube.core.list_namespace().items]
    if NAMESPACE not in names:
        pytest.fail(
            f"namespace {NAMESPACE!r} does not exist in context {context!r}: "
            "deploy first (scripts/deploy, or make e2e)"
        )
    return kube


@pytest.fixture(scope="session")
def mongodb(kube: Kube) -> None:
    """MongoDB is part of the deployment. Skipped, saying so, where a values
    override left it out (scripts/kind/values-without-mongodb.yaml: neither a
    mongod image nor the nx-27017 stand-in's could be had without a registry)."""
    from kubernetes.client.exceptions import ApiException

    try:
        kube.apps.read_namespaced_stateful_set(MONGO_STS, NAMESPACE)
    except ApiException as exc:
        if exc.status == 404:
            pytest.skip(
                f"MongoDB is not deployed (no StatefulSet {MONGO_STS}): a values override left it out"
            )
        raise
