"""Schema validation: built-in kinds against the Kubernetes OpenAPI schemas
(kubernetes-validate, strict), ray.io kinds against the KubeRay CRDs.

Plain JSON-schema validation of a CRD lets unknown fields through, while the
API server (strict field validation, the default for kubectl) rejects them. So
every object schema in a CRD that declares its properties is closed
(additionalProperties: false) unless it is marked
x-kubernetes-preserve-unknown-fields, and a custom resource's metadata is
checked against Kubernetes' ObjectMeta.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tools.manifests.crds import SchemaSetupError
from tools.manifests.model import Obj, Problem, Rendered

__all__ = ["CrdValidator", "KubernetesValidator", "SchemaSetupError", "close_schema", "validate"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# Kinds the chart renders that no schema here describes, and what checks them
# instead; only their metadata is validated (against ObjectMeta).
WITHOUT_SCHEMA: dict[tuple[str, str], str] = {
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): (
        "no Gateway API CRDs among the schemas; checks/routes.py checks its backends"
    ),
}


# ---------------------------------------------------------------- Kubernetes


def kubernetes_schema_version(wanted: str) -> str:
    """The newest schema version kubernetes-validate ships that is not newer
    than ``wanted`` (e.g. "1.35.0" -> "1.35.0"); an error if it has none."""
    from kubernetes_validate.utils import all_versions, major_minor
    from packaging.version import Version

    minor = Version(major_minor(wanted))
    shipped = [v for v in all_versions() if Version(major_minor(v)) <= minor]
    if not shipped or Version(major_minor(shipped[-1])) != minor:
        have = ", ".join(all_versions())
        raise SchemaSetupError(
            f"kubernetes-validate has no schemas for Kubernetes {wanted} (it has {have})"
        )
    return shipped[-1]


class KubernetesValidator:
    """Strict validation of built-in kinds for one Kubernetes version."""

    def __init__(self, version: str):
        self.version = kubernetes_schema_version(version)
        self._dir = f"kubernetes-json-schema/v{self.version}-local-strict"

    @functools.cached_property
    def _registry(self):
        from kubernetes_validate.utils import schema_contents
        from referencing import Registry, Resource

        definitions = schema_contents(f"{self._dir}/_definitions.json", self.version)
        return Resource.from_contents(definitions) @ Registry()

    @functools.cache  # noqa: B019 - one validator per kind, for the life of this object
    def _validator(self, kind: str, api_version: str) -> jsonschema.protocols.Validator | None:
        import re

        from kubernetes_validate.utils import schema_contents

        group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        try:
            schema = schema_contents(
                f"{self._dir}/{kind.lower()}-{group_version}.json", self.version
            )
        except FileNotFoundError:
            return None
        return jsonschema.Draft202012Validator(schema, registry=self._registry)

    @functools.cached_property
    def object_meta(self) -> jsonschema.protocols.Validator:
        schema = {
            "$id": "https://kubernetes.io/api/ray101-objectmeta",
            "$ref": f"/api/_definitions.json#/$defs/{_OBJECT_META}",
        }
        return jsonschema.Draft202012Validator(schema, registry=self._registry)

    def errors(self, obj: Obj) -> Iterator[tuple[str, str]] | None:
        """(field, message) per violation; None when the kind is not built in."""
        validator = self._validator(obj.get("kind", ""), obj.get("apiVersion", ""))
        if validator is None:
            return None
        return _describe(validator.iter_errors(obj))


# ---------------------------------------------------------------- CRDs


def close_schema(schema: Any) -> Any:
    """A copy of an OpenAPI v3 schema where every object that lists its
    properties rejects others, as the API server's strict field validation does."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


class CrdValidator:
    """Validation of custom resources against the CRDs in some directories
    (tools/manifests/crds.py finds them)."""

    def __init__(self, directories: list[Path], kubernetes: KubernetesValidator):
        self.directories = directories
        self.kubernetes = kubernetes
        self._files = [f for d in directories for f in sorted(d.glob("*.yaml"))]
        if not self._files:
            raise SchemaSetupError(f"no CRDs in {', '.join(map(str, directories))}")

    @functools.cached_property
    def _schemas(self) -> dict[tuple[str, str], Any]:
        """(group/version, kind) -> closed openAPIV3Schema, for every served version."""
        schemas = {}
        for path in self._files:
            for crd in yaml.load_all(path.read_text(), Loader=_Loader):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                spec = crd["spec"]
                for version in spec.get("versions", []):
                    if not version.get("served", True):
                        continue
                    schema = close_schema(version["schema"]["openAPIV3Schema"])
                    # metadata is ObjectMeta, checked on its own below.
                    schema.get("properties", {}).pop("metadata", None)
                    schemas[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = schema
        return schemas

    @functools.cache  # noqa: B019
    def _validator(self, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
        schema = self._schemas.get((api_version, kind))
        if schema is None:
            return None
        # Allow metadata at the top level again (validated separately).
        schema = {
            **schema,
            "properties": {**schema.get("properties", {}), "metadata": {"type": "object"}},
        }
        return jsonschema.Draft4Validator(schema)

    def kinds(self) -> set[tuple[str, str]]:
        return set(self._schemas)

    def errors(self, obj: Obj) -> Iterator[tuple[str, str]] | None:
        validator = self._validator(obj.get("apiVersion", ""), obj.get("kind", ""))
        if validator is None:
            return None
        found = list(_describe(validator.iter_errors(obj)))
        meta = obj.get("metadata") or {}
        found += [
            (f"metadata.{f}" if f else "metadata", m)
            for f, m in _describe(self.kubernetes.object_meta.iter_errors(meta))
        ]
        return iter(found)


# ---------------------------------------------------------------- messages


def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(errors: Iterable[jsonschema.ValidationError]) -> Iterator[tuple[str, str]]:
    """(field path, message), naming the unknown field itself for additionalProperties."""
    for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set((error.schema or {}).get("properties", {}))
            patterns = (error.schema or {}).get("patternProperties", {})
            extra = [k for k in error.instance if k not in allowed and not patterns]
            if extra:
                for key in extra:
                    yield _path([*path, key]), f"unknown field {key!r}"
                continue
        if error.validator in ("anyOf", "oneOf") and error.context:
            best = jsonschema.exceptions.best_match(error.context)
            yield _path([*path, *best.relative_path]), best.message
            continue
        yield _path(path), error.message


# ---------------------------------------------------------------- entry point


def validate(
    rendered: Rendered, kubernetes: KubernetesValidator, crds: CrdValidator
) -> list[Problem]:
    problems = []
    for obj in rendered.all_objects():
        found = crds.errors(obj)
        if found is None:
            found = kubernetes.errors(obj)
        if found is None and (obj.get("apiVersion"), obj.get("kind")) in WITHOUT_SCHEMA:
            meta = obj.get("metadata") or {}
            found = [
                (f"metadata.{f}" if f else "metadata", m)
                for f, m in _describe(kubernetes.object_meta.iter_errors(meta))
            ]
        if found is None:
            problems.append(
                rendered.problem(
                    obj, "apiVersion", f"no schema for {obj.get('apiVersion')} {obj.get('kind')}"
                )
            )
            continue
        problems += [rendered.problem(obj, field, message) for field, message in found]
    return problems
