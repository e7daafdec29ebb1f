"""The chart's optional parts (monitoring, GCS fault tolerance with Redis,
disruption budgets, Ingress and HTTPRoutes), checked without a cluster: each
renders only when asked, passes the strict schemas and the project's checks in
the helm:all-parts rendering (tests/deploy runs those), and each
cross-object rule catches the mistake it is written for."""

from __future__ import annotations

import json

import pytest

from tests.deploy.helpers import _mutated
from tools import chart
from tools.chart import CHART_DIR
from tools.manifests import checks, render, schemas
from tools.manifests import crds as crd_dirs
from tools.manifests.model import Rendered, pod_templates

EVERY_OPTION = checks.EXPECT["helm:all-parts"]


@pytest.fixture(scope="module")
def all_parts() -> Rendered:
    return render.render_chart(
        "helm:all-parts", chart.load_values(render.CHART_VALUES["helm:all-parts"])
    )


def _problems(r: Rendered, ctx) -> list[str]:
    return [str(p) for p in checks.check_rendering(r, ctx, EVERY_OPTION)]


def test_the_all_parts_rendering_is_clean(all_parts, ctx, versions):
    kubernetes = schemas.KubernetesValidator(versions["KUBERNETES_VERSION"])
    crds = schemas.CrdValidator(crd_dirs.directories(versions), kubernetes)
    found = schemas.validate(all_parts, kubernetes, crds) + checks.check_rendering(
        all_parts, ctx, EVERY_OPTION
    )
    assert not found, "\n".join(map(str, found))
    kinds = {o["kind"] for o in all_parts.objects}
    assert {"PodMonitor", "PodDisruptionBudget", "Ingress", "HTTPRoute"} <= kinds


def test_optional_parts_are_off_by_default(ctx):
    r = render.render_chart("helm:default")
    kinds = {o["kind"] for o in r.objects}
    assert not kinds & {"PodMonitor", "Ingress", "HTTPRoute"}
    dashboards = [
        c for c in r.of_kind("ConfigMap") if "grafana_dashboard" in c["metadata"]["labels"]
    ]
    assert not dashboards
    assert r.find("StatefulSet", "ray101-redis") is None
    cluster = r.find("RayCluster", "ray101")
    assert "gcsFaultToleranceOptions" not in cluster["spec"]
    head_env = {e["name"] for e in pod_templates(cluster)[0].spec["containers"][0]["env"]}
    assert not head_env & {"RAY_GRAFANA_HOST", "RAY_PROMETHEUS_HOST"}
    # the stores get their budgets even so
    assert {p["metadata"]["name"] for p in r.of_kind("PodDisruptionBudget")} == {
        "ray101-mongodb",
        "ray101-seaweedfs",
    }


def test_both_ray_clusters_keep_the_gcs_in_the_redis_secret(all_parts):
    for kind, name, path in (
        ("RayCluster", "ray101", "spec"),
        ("RayService", "ray101-echo", "spec.rayClusterConfig"),
    ):
        spec = all_parts.find(kind, name)
        for part in path.split(".")[0:]:
            spec = spec[part]
        ft = spec["gcsFaultToleranceOptions"]
        assert ft["redisAddress"] == "ray101-redis.ray101.svc:6379"
        assert ft["redisPassword"]["valueFrom"]["secretKeyRef"] == {
            "name": "ray101-redis",
            "key": "password",
        }
    assert "password" in all_parts.find("Secret", "ray101-redis")["data"]


def test_the_ray_dashboard_of_each_head_finds_grafana_and_prometheus(all_parts):
    for obj in (
        all_parts.find("RayCluster", "ray101"),
        all_parts.find("RayService", "ray101-echo"),
    ):
        for tpl in pod_templates(obj):
            env = {e["name"]: e.get("value") for e in tpl.spec["containers"][0]["env"]}
            if tpl.group == "head":
                assert env["RAY_GRAFANA_IFRAME_HOST"].startswith("http")
                assert "RAY_PROMETHEUS_HOST" in env and "RAY_GRAFANA_HOST" in env
            else:
                assert "RAY_GRAFANA_HOST" not in env


def test_dashboards_are_the_files_ray_writes_one_configmap_each(all_parts):
    files = sorted((CHART_DIR / "dashboards").glob("*.json"))
    maps = [
        c
        for c in all_parts.of_kind("ConfigMap")
        if c["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    assert len(maps) == len(files) == 5
    shipped = {k: json.loads(v) for c in maps for k, v in c["data"].items()}
    for path in files:
        assert shipped[path.name] == json.loads(path.read_text()), path.name
    for c in maps:  # under kubectl's client-side apply annotation limit
        assert sum(len(v) for v in c["data"].values()) < 256 * 1024, c["metadata"]["name"]


@pytest.mark.parametrize(
    ("kind", "name", "change", "message"),
    [
        (
            "RayCluster",
            "ray101",
            lambda o: o["spec"]["gcsFaultToleranceOptions"].update(redisAddress="redis:6379"),
            "no Service 'redis'",
        ),
        (
            "RayCluster",
            "ray101",
            lambda o: o["spec"]["gcsFaultToleranceOptions"].update(
                redisAddress="ray101-redis.ray101.svc:6380"
            ),
            "listens on [6379]",
        ),
        (
            "RayService",
            "ray101-echo",
            lambda o: o["spec"]["rayClusterConfig"]["gcsFaultToleranceOptions"]["redisPassword"][
                "valueFrom"
            ]["secretKeyRef"].update(key="redis-password"),
            "has no key 'redis-password'",
        ),
        (
            "RayCluster",
            "ray101",
            lambda o: (
                o["metadata"].setdefault("annotations", {}).update({"ray.io/ft-enabled": "true"})
            ),
            "KubeRay refuses it with gcsFaultToleranceOptions",
        ),
        (
            "RayCluster",
            "ray101",
            lambda o: o["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"].append(
                {"name": "RAY_REDIS_ADDRESS", "value": "ray101-redis:6379"}
            ),
            "env RAY_REDIS_ADDRESS",
        ),
        (
            "RayService",
            "ray101-echo",
            lambda o: o["spec"]["rayClusterConfig"].pop("gcsFaultToleranceOptions"),
            "no gcsFaultToleranceOptions",
        ),
        (
            "NetworkPolicy",
            "ray101-redis",
            lambda o: o["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"].pop(
                "ray.io/node-type"
            ),
            "which is no GCS using Redis",
        ),
        (
            "NetworkPolicy",
            "ray101-redis",
            lambda o: o["spec"]["ingress"][0]["from"].pop(1),
            "does not admit KubeRay's Redis cleanup Job",
        ),
        (
            "Ingress",
            "ray101",
            lambda o: o["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"].update(
                name="ray101-echo-svc"
            ),
            "'ray101-echo-svc' is neither rendered nor created by KubeRay",
        ),
        (
            "HTTPRoute",
            "ray101-dashboard",
            lambda o: o["spec"]["rules"][0]["backendRefs"][0].update(port=8266),
            "has no port 8266",
        ),
        (
            "PodDisruptionBudget",
            "ray101-redis",
            lambda o: o["spec"]["selector"]["matchLabels"].update(
                {"app.kubernetes.io/component": "ray"}
            ),
            "selects 0 workloads",
        ),
        (
            "PodMonitor",
            "ray101-ray-workers",
            lambda o: o["spec"]["podMetricsEndpoints"][0].update(port="metric"),
            "'metric' is no port",
        ),
        (
            "RayService",
            "ray101-echo",
            lambda o: o["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]["spec"][
                "containers"
            ][0]["ports"].pop(),
            "'haproxy-metrics' is no port",
        ),
        (
            "PodMonitor",
            "ray101-serve",
            lambda o: o["spec"]["selector"]["matchLabels"].update(
                {"app.kubernetes.io/component": "serve"}
            ),
            "matches no pod template",
        ),
    ],
)
def test_a_broken_cross_object_reference_is_reported(all_parts, ctx, kind, name, change, message):
    found = _problems(_mutated(all_parts, kind, name, change), ctx)
    assert any(message in p for p in found), found


def test_a_redis_password_is_never_drawn_without_a_cluster():
    with pytest.raises(Exception, match=r"ha\.redis\.auth\.existingSecret"):
        render.render_chart(
            "helm:gitops",
            {"ha": {"enabled": True}, "seaweedfs": {"auth": {"existingSecret": "n"}}},
            offline=False,
        )
    r = render.render_chart(
        "helm:gitops",
        {
            "ha": {"enabled": True, "redis": {"auth": {"existingSecret": "my-redis"}}},
            "mongodb": {"auth": {"existingSecret": "m"}},
            "seaweedfs": {"auth": {"existingSecret": "n"}},
        },
        offline=False,
    )
    assert r.find("Secret", "ray101-redis") is None
    cluster = r.find("RayCluster", "ray101")
    ref = cluster["spec"]["gcsFaultToleranceOptions"]["redisPassword"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == "my-redis"


def test_values_schema_rejects_a_weak_redis_password_and_an_unknown_option():
    with pytest.raises(Exception, match="password"):
        render.render_chart(
            "h", {"ha": {"enabled": True, "redis": {"auth": {"password": "short"}}}}
        )
    with pytest.raises(Exception, match="additional properties|monitorin"):
        render.render_chart("h", {"monitoring": {"enabeld": True}})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"echo": {"enabled": False}, "tests": {"enabled": False}, "ingress": {"enabled": True}},
            "ingress.enabled routes the echo service or the dashboard",
        ),
        (
            {"echo": {"enabled": False}, "tests": {"enabled": False}, "gateway": {"enabled": True}},
            "gateway.enabled routes the echo service or the dashboard",
        ),
    ],
)
def test_a_route_with_nothing_to_route_to_is_refused(values, message):
    with pytest.raises(Exception, match=message):
        render.render_chart("h", values)
    dashboard = {
        "ingress": {"dashboard": {"host": "ray.example.com"}},
        "gateway": {"dashboard": {"hostnames": ["ray.example.com"]}},
    }
    r = render.render_chart("h", chart.merged(values, dashboard))
    backends = [o for o in r.objects if o["kind"] in ("Ingress", "HTTPRoute")]
    assert backends and all("head-svc" in json.dumps(o["spec"]) for o in backends)
