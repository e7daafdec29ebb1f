"""Schema validation (Kubernetes, KubeRay and prometheus-operator CRDs, unknown fields
rejected), where the CRDs come from, and the checker on a user's own YAML.
"""

from __future__ import annotations

import copy
import dataclasses
import http.server
import subprocess
import threading

import pytest
import yaml

from tests.deploy.helpers import SOURCES, _mutated, _report
from tools import chart
from tools.chart import REPO_ROOT
from tools.manifests import checks, schemas
from tools.manifests import crds as crd_dirs
from tools.manifests.model import Rendered


def test_kubernetes_schemas_are_the_pinned_version(kubernetes, versions):
    major_minor = ".".join(versions["KUBERNETES_VERSION"].split(".")[:2])
    assert kubernetes.version.startswith(major_minor + ".")


@pytest.mark.parametrize("source", SOURCES)
def test_every_object_matches_its_schema(source, rendered, kubernetes, crds):
    problems = schemas.validate(rendered[source], kubernetes, crds)
    assert not problems, _report(problems)


def test_misspelled_rayjob_field_is_rejected(rendered, kubernetes, crds):
    def misspell(job):
        job["spec"]["entryPoint"] = job["spec"].pop("entrypoint")

    broken = _mutated(rendered["helm:default"], "RayJob", "ray101-dag", misspell)
    problems = schemas.validate(broken, kubernetes, crds)
    assert [str(p) for p in problems] == [
        "[helm:default] RayJob/ray101-dag: spec.entryPoint: unknown field 'entryPoint'"
    ]


def test_unknown_field_deep_in_a_ray_pod_template_is_rejected(rendered, kubernetes, crds):
    def typo(cluster):
        cluster["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resource"] = {}

    broken = _mutated(rendered["kustomize:kind"], "RayCluster", "ray101", typo)
    problems = schemas.validate(broken, kubernetes, crds)
    assert len(problems) == 1
    assert problems[0].kind == "RayCluster" and problems[0].name == "ray101"
    assert problems[0].field == "spec.workerGroupSpecs[0].template.spec.containers[0].resource"


def test_unknown_field_in_a_core_object_is_rejected(rendered, kubernetes, crds):
    broken = _mutated(
        rendered["helm:kind"],
        "StatefulSet",
        "ray101-mongodb",
        lambda s: s["spec"].update(replica=1),
    )
    problems = schemas.validate(broken, kubernetes, crds)
    assert [(p.kind, p.field) for p in problems] == [("StatefulSet", "spec.replica")]


def test_closing_a_crd_schema_rejects_unknown_fields_but_keeps_open_ones():
    import jsonschema

    schema = {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"a": {"type": "string"}}},
            "free": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "properties": {},
            },
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    doc = {"spec": {"a": "x", "b": "y"}, "free": {"anything": 1}, "map": {"k": "v"}}
    assert jsonschema.Draft4Validator(schema).is_valid(doc)  # what plain validation does
    errors = list(jsonschema.Draft4Validator(schemas.close_schema(schema)).iter_errors(doc))
    assert [(list(e.path), e.validator) for e in errors] == [(["spec"], "additionalProperties")]


def test_a_crd_directory_named_by_its_variable_must_hold_the_crds(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBERAY_CRDS_DIR", str(tmp_path))
    (kuberay, _) = crd_dirs.crd_sets(chart.versions())
    with pytest.raises(schemas.SchemaSetupError, match="KUBERAY_CRDS_DIR must name"):
        crd_dirs.locate(kuberay)


def test_command_line_exits_2_when_the_crds_are_missing(tmp_path, monkeypatch, capsys):
    from tools.manifests.__main__ import main

    monkeypatch.setenv("KUBERAY_CRDS_DIR", str(tmp_path / "nowhere"))
    assert main([]) == 2
    assert "no KubeRay CRDs in" in capsys.readouterr().err


def test_crds_come_from_the_shared_directory_when_no_variable_is_set(monkeypatch):
    monkeypatch.delenv("KUBERAY_CRDS_DIR", raising=False)
    monkeypatch.delenv("PROMETHEUS_OPERATOR_CRDS_DIR", raising=False)
    sets = crd_dirs.crd_sets(chart.versions())
    shared = REPO_ROOT.parent / "shared"
    if not (shared / "kuberay").is_dir():
        pytest.skip(f"no {shared} beside this checkout: the download path is tested below")
    assert [crd_dirs.locate(s) for s in sets] == [
        shared / "kuberay" / "v1.7.0" / "crds",
        shared / "prometheus-operator" / "v0.93.0" / "crds",
    ]


def test_without_shared_crds_a_fresh_clone_downloads_them_once(tmp_path, monkeypatch):
    """From a local server standing in for GitHub: fetched into the cache, then
    read from there without another request."""
    monkeypatch.delenv("KUBERAY_CRDS_DIR", raising=False)
    (kuberay, _) = crd_dirs.crd_sets(chart.versions())
    source = REPO_ROOT.parent / "shared" / "kuberay" / "v1.7.0" / "crds"
    served = tmp_path / "served"
    served.mkdir()
    for name in kuberay.files:
        text = (source / name).read_text() if (source / name).exists() else ""
        (served / name).write_text(text or "kind: CustomResourceDefinition\n")
    requests: list[str] = []

    class Files(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        local = dataclasses.replace(kuberay, base_url=f"http://127.0.0.1:{server.server_port}")
        cache = tmp_path / "cache"
        found = crd_dirs.locate(local, cache=cache, shared=tmp_path / "no-shared")
        assert found == cache / "kuberay" / "v1.7.0"
        assert sorted(p.name for p in found.iterdir()) == sorted(kuberay.files)
        assert len(requests) == len(kuberay.files)
        assert crd_dirs.locate(local, cache=cache, shared=tmp_path / "no-shared") == found
        assert len(requests) == len(kuberay.files), "the cache is read, not fetched again"
        broken = dataclasses.replace(local, base_url=f"http://127.0.0.1:{server.server_port}/gone")
        with pytest.raises(
            schemas.SchemaSetupError, match="could not download .* set KUBERAY_CRDS_DIR"
        ):
            crd_dirs.locate(broken, cache=tmp_path / "other", shared=tmp_path / "no-shared")
    finally:
        server.shutdown()
        server.server_close()


def test_monitoring_kinds_are_validated_against_the_prometheus_operator_crds(kubernetes, crds):
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "ray101-ray", "namespace": "ray101"},
        "spec": {
            "selector": {"matchLabels": {"ray.io/cluster": "ray101"}},
            "podMetricsEndpoints": [{"port": "metrics", "intervall": "30s"}],
        },
    }
    problems = schemas.validate(Rendered("t", [monitor], "given"), kubernetes, crds)
    assert [(p.kind, p.field) for p in problems] == [
        ("PodMonitor", "spec.podMetricsEndpoints[0].intervall")
    ]


def test_the_checker_reads_rendered_yaml_from_standard_input(rendered):
    """What a user runs on their own overlay: `kubectl kustomize DIR | scripts/check-manifests -`.
    One run (each costs a checkov pass): the kind rendering with one unknown field
    added reports that field and nothing else, so the rest of it, read from stdin,
    is clean."""
    objects = copy.deepcopy(rendered["kustomize:kind"].all_objects())
    (dag,) = [o for o in objects if o["kind"] == "RayJob" and o["metadata"]["name"] == "ray101-dag"]
    dag["spec"]["entryPoint"] = dag["spec"]["entrypoint"]
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "check-manifests"), "--kind", "-"],
        input=yaml.safe_dump_all(objects),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    reported = result.stdout.split("\n1 problem(s):\n", 1)[-1].strip()
    assert reported == "[stdin] RayJob/ray101-dag: spec.entryPoint: unknown field 'entryPoint'", (
        result.stdout
    )


def test_what_the_api_server_refuses_within_an_object_is_reported(rendered, ctx):
    """Duplicate names and dangling references, which no schema sees."""

    def duplicate(cluster):
        spec = cluster["spec"]
        spec["workerGroupSpecs"].append(copy.deepcopy(spec["workerGroupSpecs"][0]))
        head = spec["headGroupSpec"]["template"]["spec"]
        head["containers"][0]["ports"].append({"name": "client", "containerPort": 10002})
        head["containers"][0]["volumeMounts"].append({"name": "nowhere", "mountPath": "/x"})

    def two_unnamed_ports(svc):
        svc["spec"]["ports"] = [{"port": 9000}, {"port": 9001}]

    broken = _mutated(rendered["helm:kind"], "RayCluster", "ray101", duplicate)
    broken = _mutated(broken, "Service", "ray101-seaweedfs", two_unnamed_ports)
    problems = list(
        checks.check_unique_names_and_references(broken, ctx, checks.EXPECT["helm:kind"])
    )
    head = "spec.headGroupSpec.template.spec.containers[0]"
    assert sorted((p.name, p.field, p.message) for p in problems) == [
        ("ray101", f"{head}.ports", "port name 'client' is used twice"),
        ("ray101", f"{head}.volumeMounts[1].name", "no volume 'nowhere' in the pod"),
        ("ray101", "spec.workerGroupSpecs", "groupName 'cpu' is used twice"),
        ("ray101-seaweedfs", "spec.ports[0].name", "a Service with several ports must name each"),
        ("ray101-seaweedfs", "spec.ports[1].name", "a Service with several ports must name each"),
    ]
    for source in SOURCES:
        assert not list(
            checks.check_unique_names_and_references(rendered[source], ctx, checks.EXPECT[source])
        )
