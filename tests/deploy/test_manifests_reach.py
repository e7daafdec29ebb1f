"""Who reaches the Ray pods, and as whom they run: the dashboard's Ingress and
HTTPRoute and Prometheus' scrapes get through the NetworkPolicies, every Ray
worker has a policy of its own, the shared cluster runs as the chart's
ServiceAccount, and no worker mounts an API token."""

from __future__ import annotations

import pytest

from tests.deploy.helpers import SOURCES, _mutated, _obj, _render, _report
from tools.manifests import checks, render
from tools.manifests.model import pod_templates

ALL = "helm:all-parts"


def _reach(r, ctx, source=ALL):
    return _report(list(checks.check_traffic_sources(r, ctx, checks.EXPECT[source])))


@pytest.mark.parametrize("source", SOURCES)
def test_every_route_and_scrape_gets_through(rendered, ctx, source):
    assert _reach(rendered[source], ctx, source) == ""


def test_the_dashboard_routes_are_let_in_from_their_controllers_namespaces(rendered):
    head = _obj(rendered[ALL], "NetworkPolicy", "ray101-head")
    names = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in head["spec"]["ingress"]
        if [p["port"] for p in rule.get("ports") or []] == [8265]
        for peer in rule.get("from") or []
        if "namespaceSelector" in peer
    }
    assert names == {"kuberay-system", "ingress-nginx", "gateway-system"}
    ingress = _obj(rendered[ALL], "Ingress", "ray101")
    assert ingress["metadata"]["annotations"]["ray101/traffic-from-namespace"] == "ingress-nginx"
    # Without a dashboard route, no namespace but the operator's gets the dashboard.
    default = _obj(rendered["helm:default"], "NetworkPolicy", "ray101-head")
    assert "ingress-nginx" not in str(default)


def _drop_route_rule(policy):
    policy["spec"]["ingress"] = [
        rule
        for rule in policy["spec"]["ingress"]
        if not any(
            "ingress-nginx" in str(peer) or "gateway-system" in str(peer)
            for peer in rule.get("from") or []
        )
    ]


def test_a_dashboard_route_no_policy_lets_in_is_reported(rendered, ctx):
    """The class of issue 22 item 6: a route to a port that no NetworkPolicy
    lets the route's source reach."""
    broken = _mutated(rendered[ALL], "NetworkPolicy", "ray101-head", _drop_route_rule)
    found = _reach(broken, ctx)
    assert "Ingress/ray101: spec.rules[1]" in found and "port 8265" in found
    assert "HTTPRoute/ray101-dashboard" in found
    assert "echo" not in found  # the echo's Serve port stays open to all


def test_a_route_from_another_namespace_than_the_policy_admits_is_reported(rendered, ctx):
    def elsewhere(ingress):
        ingress["metadata"]["annotations"]["ray101/traffic-from-namespace"] = "traefik"

    broken = _mutated(rendered[ALL], "Ingress", "ray101", elsewhere)
    assert "from namespace 'traefik') reach port 8265" in _reach(broken, ctx)

    def unannotated(ingress):
        del ingress["metadata"]["annotations"]["ray101/traffic-from-namespace"]

    broken = _mutated(rendered[ALL], "Ingress", "ray101", unannotated)
    assert "from another namespace) reach port 8265" in _reach(broken, ctx)


def test_a_scrape_no_policy_lets_in_is_reported(rendered, ctx):
    """Issue 22 item 11: HAProxy's exporter on the echo pods, scraped but closed."""

    def only_ray_metrics(policy):
        policy["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": 8080}]

    broken = _mutated(rendered[ALL], "NetworkPolicy", "ray101-ray-metrics", only_ray_metrics)
    found = _reach(broken, ctx)
    assert "PodMonitor/ray101-serve: spec.podMetricsEndpoints[1]" in found
    assert "port 9101" in found and "podMetricsEndpoints[0]" not in found


@pytest.mark.parametrize(
    ("policy", "change", "message"),
    [
        ("ray101-workers", None, "no NetworkPolicy selects these workers"),
        ("ray101-echo-workers", None, "no NetworkPolicy selects these workers"),
        ("ray101-workers", lambda p: p["spec"].update(ingress=[{}]), "any pod of the namespace"),
        (
            "ray101-workers",
            lambda p: p["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"].update(
                {"ray.io/node-type": "worker"}
            ),
            "spec.headGroupSpec.template of the same cluster may not reach",
        ),
    ],
)
def test_a_worker_policy_too_open_or_too_closed_is_reported(rendered, ctx, policy, change, message):
    r = rendered["helm:default"]
    if change is None:
        broken = _mutated(r, "NetworkPolicy", policy, lambda p: None)
        broken.objects = [o for o in broken.objects if o["metadata"]["name"] != policy]
    else:
        broken = _mutated(r, "NetworkPolicy", policy, change)
    found = _report(list(checks.check_ray_heads(broken, ctx, checks.EXPECT["helm:default"])))
    assert message in found


@pytest.mark.parametrize("source", SOURCES)
def test_the_shared_cluster_runs_as_the_charts_service_account(rendered, ctx, source):
    r = rendered[source]
    assert list(checks.check_service_accounts(r, ctx, checks.EXPECT[source])) == []
    cluster = _obj(r, "RayCluster", "ray101")
    for t in pod_templates(cluster):
        assert t.spec["serviceAccountName"] == "ray101-ray", t.path
        # The head's autoscaler sidecar needs the token; the workers do not.
        assert t.spec.get("automountServiceAccountToken", True) is (t.group == "head")
    for t in pod_templates(_obj(r, "RayService", "ray101-echo")):
        assert t.spec.get("automountServiceAccountToken", True) is (t.group == "head")
    _obj(r, "ServiceAccount", "ray101-ray")


def test_the_service_account_takes_a_cloud_identity_or_an_existing_one(ctx):
    role = {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/ray101"}
    r = _render({"ray": {"serviceAccount": {"annotations": role}}})
    assert _obj(r, "ServiceAccount", "ray101-ray")["metadata"]["annotations"] == role
    r = _render({"ray": {"serviceAccount": {"create": False, "name": "tune-writer"}}})
    assert not r.of_kind("ServiceAccount")
    head = pod_templates(_obj(r, "RayCluster", "ray101"))[0]
    assert head.spec["serviceAccountName"] == "tune-writer"
    # Not rendered: the checker says the cluster would be refused.
    found = _report(list(checks.check_service_accounts(r, ctx, checks.EXPECT["helm:default"])))
    assert "ServiceAccount 'tune-writer' is not rendered" in found


def test_a_worker_with_a_token_is_reported(rendered, ctx):
    def mounts(cluster):
        del cluster["spec"]["workerGroupSpecs"][0]["template"]["spec"][
            "automountServiceAccountToken"
        ]

    broken = _mutated(rendered["helm:default"], "RayCluster", "ray101", mounts)
    found = _report(list(checks.check_service_accounts(broken, ctx, checks.EXPECT["helm:default"])))
    assert "a Ray worker mounts an API token" in found


def test_notes_name_the_operator_namespace_the_policies_admit():
    notes = render.render_notes({"ray": {"networkPolicy": {"operatorNamespace": "default"}}})
    assert 'from the namespace\n   "default" only' in notes
    assert "kubectl -n default get deployments -l app.kubernetes.io/name=kuberay-operator" in notes
    assert "useKubernetesProxy" in notes
