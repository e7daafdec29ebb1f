"""checkov and the project's security checks: non-root pods, Pod Security,
NetworkPolicies, the workloads' MongoDB user and S3 identity, images outside kind.
"""

from __future__ import annotations

import base64
import os
import subprocess

import pytest

from tests.deploy.helpers import SOURCES, _mutated, _obj, _report, _secret_uri
from tools.manifests import checkov, checks, render
from tools.manifests.checks.lookups import env_value
from tools.manifests.model import containers as model_containers
from tools.manifests.model import pod_templates


def test_root_container_is_reported(rendered, ctx):
    """In a Ray pod template by the project's checks, in a built-in kind by checkov."""

    def ray_as_root(cluster):
        cluster["spec"]["headGroupSpec"]["template"]["spec"]["securityContext"] = {"runAsUser": 0}

    broken = _mutated(rendered["kustomize:kind"], "RayCluster", "ray101", ray_as_root)
    fields = {p.field for p in checks.check_rendering(broken, ctx)}
    assert "spec.headGroupSpec.template.spec.containers[0].securityContext.runAsNonRoot" in fields
    assert "spec.headGroupSpec.template.spec.containers[0].securityContext.runAsUser" in fields

    def as_root(sts):
        sts["spec"]["template"]["spec"]["securityContext"] = {"runAsUser": 0}

    broken = _mutated(rendered["kustomize:kind"], "StatefulSet", "ray101-mongodb", as_root)
    report = checkov.scan([broken])
    found = {(p.kind, p.name, p.message.split(":")[0]) for p in report.problems}
    assert ("StatefulSet", "ray101-mongodb", "checkov CKV_K8S_23") in found, _report(
        report.problems
    )
    assert all(p.source == "kustomize:kind" for p in report.problems)


def test_checkov_passes_every_rendering_and_every_skip_has_a_reason(rendered):
    report = checkov.scan(rendered.values())
    assert not report.problems, _report(report.problems)
    assert report.failed == 0 and report.passed > 1000 and report.skipped > 0


def test_a_checkov_skip_without_a_reason_is_reported(rendered):
    def bare_skip(deployment):
        deployment["metadata"]["annotations"]["checkov.io/skip1"] = "CKV_K8S_43"

    broken = _mutated(rendered["helm:kind"], "Deployment", "ray101-seaweedfs", bare_skip)
    problems = checkov.scan([broken]).problems
    assert [(p.kind, p.name, p.message) for p in problems] == [
        ("Deployment", "ray101-seaweedfs", "checkov CKV_K8S_43 is skipped without a reason")
    ]


def test_pods_that_break_the_restricted_pod_security_standard_are_reported(rendered, ctx):
    def loosen(cluster):
        worker = cluster["spec"]["workerGroupSpecs"][0]["template"]["spec"]
        worker["containers"][0]["securityContext"]["capabilities"] = {"add": ["SYS_ADMIN"]}
        worker["volumes"] = [{"name": "host", "hostPath": {"path": "/"}}]
        cluster["spec"]["autoscalerOptions"]["securityContext"].pop("capabilities")

    broken = _mutated(rendered["helm:kind"], "RayCluster", "ray101", loosen)
    problems = list(checks.check_pod_security_restricted(broken, ctx, checks.EXPECT["helm:kind"]))
    assert [p.field for p in problems] == [
        "spec.workerGroupSpecs[0].template.spec.volumes[0]",
        "spec.workerGroupSpecs[0].template.spec.containers[0].securityContext.capabilities.drop",
        "spec.workerGroupSpecs[0].template.spec.containers[0].securityContext.capabilities.add",
        "spec.autoscalerOptions.securityContext.capabilities.drop",
    ]


def test_the_namespace_enforces_restricted(rendered, ctx):
    (namespace,) = rendered["kustomize:kind"].of_kind("Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"

    def baseline(ns):
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "baseline"

    broken = _mutated(rendered["kustomize:kind"], "Namespace", "ray101", baseline)
    problems = list(
        checks.check_namespace_pod_security(broken, ctx, checks.EXPECT["kustomize:kind"])
    )
    assert [p.field for p in problems] == ["metadata.labels.pod-security.kubernetes.io/enforce"]


def test_mongodb_uri_pointing_elsewhere_is_reported(rendered, ctx):
    elsewhere = _secret_uri(
        lambda uri: uri.replace("ray101-mongodb.ray101.svc", "mongodb.ray101.svc")
    )
    broken = _mutated(rendered["helm:default"], "Secret", "ray101-mongodb", elsewhere)
    problems = [p for p in checks.check_rendering(broken, ctx) if p.name == "ray101-data-load"]
    assert problems and all(p.field == "spec.template.spec.containers[0].env[0]" for p in problems)
    assert any(
        "'mongodb.ray101.svc' is not the Service 'ray101-mongodb'" in p.message for p in problems
    )


def test_the_workloads_connect_as_their_own_user_not_as_root(rendered, ctx):
    """MONGODB_URI carries the app user (readWrite on sample_mflix, made by the
    init script on first start); the root password stays in the MongoDB pod."""
    for source in ("helm:kind", "kustomize:kind"):
        secret = _obj(rendered[source], "Secret", "ray101-mongodb")
        data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
        assert data["uri"].startswith(f"mongodb://{data['app-username']}:{data['app-password']}@")
        assert data["password"] not in data["uri"], source
        init = _obj(rendered[source], "ConfigMap", "ray101-mongodb-init")["data"][
            "create-app-user.js"
        ]
        assert 'role: "readWrite", db: env.MONGODB_DATABASE' in init
        holders = {
            o["metadata"]["name"]
            for o in rendered[source].all_objects()
            for t in pod_templates(o)
            for _, c in model_containers(t)
            for e in c.get("env") or []
            if (e.get("valueFrom") or {}).get("secretKeyRef", {}).get("key") == "password"
        }
        assert holders == {"ray101-mongodb"}, holders
    as_root = _secret_uri(lambda uri: uri.replace("mongodb://ray101-app:", "mongodb://ray101:"))
    broken = _mutated(rendered["kustomize:kind"], "Secret", "ray101-mongodb", as_root)
    messages = {
        p.message for p in checks.check_mongodb_uri(broken, ctx, checks.EXPECT["kustomize:kind"])
    }
    assert any("connects as MongoDB's root user 'ray101'" in m for m in messages), messages


def test_a_password_with_special_characters_reaches_the_driver_intact(ctx):
    """The chart percent-encodes the user info of MONGODB_URI: pymongo's own URI
    parser (what every pod's client runs) gives back the password exactly."""
    from pymongo import uri_parser

    password = "p@ss:w/o%rd?#&+ x"
    auth = {"password": password, "appPassword": password[::-1]}
    r = render.render_chart("h", {"mongodb": {"auth": auth}})
    secret = _obj(r, "Secret", "ray101-mongodb")
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data["password"] == password  # what MONGO_INITDB_ROOT_PASSWORD reads
    assert data["app-password"] == password[::-1]  # what the init script gives the app user
    parsed = uri_parser.parse_uri(data["uri"])
    assert (parsed["username"], parsed["password"]) == ("ray101-app", password[::-1])
    assert parsed["nodelist"] == [("ray101-mongodb.ray101.svc", 27017)]
    assert not [p for p in checks.check_mongodb_uri(r, ctx, checks.EXPECT["helm:default"])]


def test_an_overlay_in_another_namespace_keeps_every_client_on_its_mongodb(tmp_path, ctx):
    """No namespace is written into the base: MONGODB_URI (secret.env) names the
    host without one, so `namespace:` in an overlay moves every client along."""
    k8s = render.prepared_k8s_copy(tmp_path)
    overlay = k8s / "overlays" / "elsewhere"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("namespace: team-a\nresources:\n  - ../kind\n")
    moved = render.build_overlay("kustomize:elsewhere", overlay)
    assert {o["metadata"].get("namespace") for o in moved.objects} == {"team-a", None}
    expect = checks.Expect(gpu="none", kind_cluster=True)
    problems = [
        p
        for check in (checks.check_urls, checks.check_mongodb_uri, checks.check_env_references)
        for p in check(moved, ctx, expect)
    ]
    assert not problems, _report(problems)

    # A host pinned to the old namespace is what the check reports.
    pinned = _secret_uri(lambda uri: uri.replace("@ray101-mongodb:", "@ray101-mongodb.ray101.svc:"))
    broken = _mutated(moved, "Secret", "ray101-mongodb", pinned)
    messages = [p.message for p in checks.check_urls(broken, ctx, expect)]
    assert any("is in namespace 'ray101', but the pod runs in 'team-a'" in m for m in messages), (
        messages
    )


def test_network_policy_must_admit_the_loader_and_no_one_else(rendered, ctx):
    def unlabel(job):
        job["spec"]["template"]["metadata"]["labels"].pop("ray101/mongodb-client")

    def label(service):  # the serving cluster's pods must not be admitted
        service["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["metadata"]["labels"][
            "ray101/mongodb-client"
        ] = "true"

    broken = _mutated(rendered["kustomize:kind"], "Job", "ray101-data-load", unlabel)
    broken = _mutated(broken, "RayService", "ray101-echo", label)
    messages = [
        p.message for p in list(checks.check_mongodb(broken, ctx, checks.EXPECT["kustomize:kind"]))
    ]
    assert messages == [
        "does not admit Job/ray101-data-load spec.template",
        "admits RayService/ray101-echo spec.rayClusterConfig.headGroupSpec.template, which does not use MongoDB",
    ]


def test_network_policy_must_admit_the_mongo_jobs_submitter(rendered, ctx):
    def unlabel(job):
        job["spec"]["submitterPodTemplate"]["metadata"]["labels"].pop("ray101/mongodb-client")

    for source in ("helm:kind", "kustomize:kind"):
        broken = _mutated(rendered[source], "RayJob", "ray101-mongo", unlabel)
        messages = [
            p.message for p in list(checks.check_mongodb(broken, ctx, checks.EXPECT[source]))
        ]
        assert messages == ["does not admit RayJob/ray101-mongo spec.submitterPodTemplate"]


def test_only_kind_renderings_use_the_kind_loaded_image(rendered, ctx):
    """A bare `ray101` exists only where `kind load` put it: a cluster would pull
    docker.io/library/ray101 and every pod would sit in ImagePullBackOff."""
    images = {
        source: {
            c["image"].rpartition(":")[0]
            for o in rendered[source].all_objects()
            for t in pod_templates(o)
            for _, c in model_containers(t)
            if "ray101" in c["image"]
        }
        for source in SOURCES
    }
    assert images["helm:kind"] == images["kustomize:kind"] == {"ray101"}
    for source in ("helm:default", "helm:gpu", "kustomize:gpu"):
        assert images[source] == {"registry.example.com/ray101"}, source

    def bare(cluster):
        cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"] = (
            "ray101:0.1.0"
        )

    broken = _mutated(rendered["kustomize:gpu"], "RayCluster", "ray101", bare)
    problems = list(checks.check_images(broken, ctx, checks.EXPECT["kustomize:gpu"]))
    assert [(p.field, p.message.split(":")[0]) for p in problems] == [
        ("spec.headGroupSpec.template.spec.containers[0].image", "'ray101")
    ]
    assert "exists only where `kind load` put it" in problems[0].message


def _env(r, obj, container) -> dict[str, str]:
    return {e["name"]: env_value(r, obj, e) for e in container.get("env") or []}


def test_the_ray_pods_write_as_the_tune_identity_the_bucket_job_makes(rendered, ctx):
    """The bucket Job, as rendered (command and env resolved from the rendered
    Secret), run against a real SeaweedFS started with the store pod's admin
    keys: the identity it makes has the keys every Ray container and the tune
    job's bucket wait hold, writes in the bucket and is refused another bucket.
    The admin keys reach no other pod."""
    import pyarrow.fs as pafs

    from jobs.commands.bucket import Store, identity_name
    from tests.servers.seaweedfs import seaweedfs_server

    for source in ("helm:kind", "kustomize:kind"):
        r = rendered[source]
        job = _obj(r, "Job", "ray101-bucket")
        (container,) = job["spec"]["template"]["spec"]["containers"]
        env = _env(r, job, container)
        store = _obj(r, "Deployment", "ray101-seaweedfs")
        admin = _env(r, store, store["spec"]["template"]["spec"]["containers"][0])
        admin_keys = (admin["AWS_ACCESS_KEY_ID"], admin["AWS_SECRET_ACCESS_KEY"])
        assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == admin_keys, source
        bucket = container["command"][container["command"].index("create") + 1]
        cluster = _obj(r, "RayCluster", "ray101")
        keys = {
            (e["AWS_ACCESS_KEY_ID"], e["AWS_SECRET_ACCESS_KEY"])
            for t in pod_templates(cluster)
            for _, c in model_containers(t)
            if "AWS_ACCESS_KEY_ID" in (e := _env(r, cluster, c))
        }
        tune = _obj(r, "RayJob", "ray101-tune")
        wait = next(
            c
            for c in tune["spec"]["submitterPodTemplate"]["spec"]["initContainers"]
            if c["name"] == "wait-for-bucket"
        )
        keys.add(
            (_env(r, tune, wait)["AWS_ACCESS_KEY_ID"], _env(r, tune, wait)["AWS_SECRET_ACCESS_KEY"])
        )
        (tune_keys,) = keys
        assert tune_keys[0] != admin_keys[0], source
        with seaweedfs_server(admin_keys) as server:
            env["AWS_ENDPOINT_URL"] = server.endpoint
            command = [checks.probe_python(), *container["command"][1:]]
            done = subprocess.run(
                command, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, (source, done.stderr)
            listed = Store(server.endpoint, admin_keys).iam(
                "ListAccessKeys", UserName=identity_name(bucket)
            )
            assert [e.text for e in listed.iter() if e.tag.endswith("AccessKeyId")] == [
                tune_keys[0]
            ], source
            s3 = pafs.S3FileSystem(
                access_key=tune_keys[0],
                secret_key=tune_keys[1],
                endpoint_override=server.endpoint,
                region="us-east-1",
                allow_bucket_creation=True,
            )
            with s3.open_output_stream(f"{bucket}/ray101/probe") as out:
                out.write(b"probe")
            with pytest.raises(OSError, match="(?i)access.?denied"):
                s3.create_dir("another-bucket")
        assert not list(checks.check_store_admin_keys(r, ctx, checks.EXPECT[source])), source


def test_a_ray_pod_with_the_stores_admin_keys_is_reported(rendered, ctx):
    def root_keys(cluster):
        for e in cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"]:
            ref = (e.get("valueFrom") or {}).get("secretKeyRef") or {}
            if ref.get("key") in ("tuneUser", "tunePassword"):
                ref["key"] = ref["key"].replace("tune", "root")

    def whole_secret(cluster):
        worker = cluster["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]
        worker["envFrom"] = [{"secretRef": {"name": "ray101-seaweedfs"}}]

    for change, fields in (
        (root_keys, {"spec.headGroupSpec.template.spec.containers[0].env"}),
        (whole_secret, {"spec.workerGroupSpecs[0].template.spec.containers[0].envFrom[0]"}),
    ):
        broken = _mutated(rendered["kustomize:kind"], "RayCluster", "ray101", change)
        problems = list(checks.check_store_admin_keys(broken, ctx, checks.EXPECT["kustomize:kind"]))
        assert {
            p.field.rsplit("[", 1)[0] if "env[" in p.field else p.field for p in problems
        } == fields
        assert all("S3 store's admin" in p.message for p in problems), _report(problems)


def test_the_tune_identity_may_not_use_the_stores_admin_key():
    with pytest.raises(
        Exception, match="seaweedfs.auth.tuneUser must differ from seaweedfs.auth.rootUser"
    ):
        render.render_chart("h", {"seaweedfs": {"auth": {"tuneUser": "ray101admin"}}})
