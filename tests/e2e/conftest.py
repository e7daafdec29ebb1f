"""Fixtures for the end-to-end tests against a cluster where ray101 is deployed.

They run with ``pytest -m e2e tests/e2e`` (``make e2e`` runs them after
``scripts/e2e-kind``) against the current kube context, or RAY101_KUBE_CONTEXT.
They are skipped only when no kube context is reachable; a reachable cluster
without ray101 is a failure that says what is missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.deployment import MONGO_STS, NAMESPACE, RAY_GROUP, RAY_VERSION


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
