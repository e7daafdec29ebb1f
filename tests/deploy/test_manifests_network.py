"""The NetworkPolicies around the Ray heads: every head selected, its own
workers in on every port, the submitters onto the job API, anyone else kept
off GCS, the job API and Ray Client. Each mistake is caught by the checker."""

from __future__ import annotations

import copy

import pytest

from tests.deploy.helpers import SOURCES, _mutated
from tools import chart
from tools.manifests import checks
from tools.manifests.checks.network import check_ray_heads

SOURCE = "kustomize:kind"


def _problems(r, ctx) -> list[str]:
    return [str(p) for p in check_ray_heads(r, ctx, checks.EXPECT[r.source])]


def _without(r, kind: str, name: str):
    copied = copy.deepcopy(r)
    copied.objects = [
        o for o in copied.objects if (o["kind"], o["metadata"]["name"]) != (kind, name)
    ]
    return copied


@pytest.mark.parametrize("source", SOURCES)
def test_every_rendering_guards_its_ray_heads(rendered, ctx, source):
    assert _problems(rendered[source], ctx) == []


def test_a_raycluster_without_a_head_policy_is_caught(rendered, ctx):
    problems = _problems(_without(rendered[SOURCE], "NetworkPolicy", "ray101-head"), ctx)
    assert any(
        "RayCluster/ray101" in p and "no NetworkPolicy selects this head" in p for p in problems
    ), problems
    # The whole checker reports it too.
    broken = _without(rendered[SOURCE], "NetworkPolicy", "ray101-head")
    assert any(
        "no NetworkPolicy selects this head" in p.message
        for p in checks.check_rendering(broken, ctx)
    )


def test_the_serving_clusters_head_needs_its_policy(rendered, ctx):
    problems = _problems(_without(rendered[SOURCE], "NetworkPolicy", "ray101-echo-head"), ctx)
    assert any("RayService/ray101-echo" in p for p in problems), problems


def test_a_head_policy_selecting_another_cluster_is_caught(rendered, ctx):
    def other(policy):
        policy["spec"]["podSelector"]["matchLabels"]["ray.io/cluster"] = "another"

    broken = _mutated(rendered[SOURCE], "NetworkPolicy", "ray101-head", other)
    assert any("no NetworkPolicy selects this head" in p for p in _problems(broken, ctx))


def test_workers_limited_to_the_gcs_port_are_caught(rendered, ctx):
    """Ray's raylet, object manager and worker ports are random: a port list breaks workers."""

    def gcs_only(policy):
        policy["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": 6379}]

    broken = _mutated(rendered[SOURCE], "NetworkPolicy", "ray101-head", gcs_only)
    assert any("may not reach their head on port 20000" in p for p in _problems(broken, ctx))


def test_a_submitter_without_the_client_label_is_caught(rendered, ctx):
    def unlabelled(job):
        del job["spec"]["submitterPodTemplate"]["metadata"]["labels"]["ray101/ray-job-client"]

    broken = _mutated(rendered[SOURCE], "RayJob", "ray101-dag", unlabelled)
    assert _problems(broken, ctx) == [
        f"[{SOURCE}] RayJob/ray101-dag: spec.submitterPodTemplate: "
        "the submitter may not reach the job API (8265) of its cluster"
    ]


def test_a_head_policy_open_to_every_pod_is_caught(rendered, ctx):
    def open_job_api(policy):
        policy["spec"]["ingress"].append({"ports": [{"protocol": "TCP", "port": 8265}]})

    broken = _mutated(rendered[SOURCE], "NetworkPolicy", "ray101-head", open_job_api)
    problems = _problems(broken, ctx)
    assert any(
        "any pod of the namespace may reach the head's job API (8265)" in p for p in problems
    )
    assert not any("GCS" in p for p in problems), problems


def test_the_operator_namespace_rule_admits_no_pod_of_this_namespace(rendered, ctx):
    """A namespaceSelector naming the operator's namespace opens nothing here;
    one naming this namespace would."""

    def this_namespace(policy):
        rule = policy["spec"]["ingress"][1]
        rule["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] = (
            chart.NAMESPACE
        )

    broken = _mutated(rendered[SOURCE], "NetworkPolicy", "ray101-head", this_namespace)
    assert any("job API (8265)" in p for p in _problems(broken, ctx))


def test_the_operator_namespace_is_the_one_kind_up_installs_into():
    text = (chart.REPO_ROOT / "scripts" / "lib" / "names.sh").read_text()
    default = text.split('OPERATOR_NAMESPACE="${KUBERAY_NAMESPACE:-', 1)[1].split("}", 1)[0]
    values = chart.load_values("values.yaml")
    assert values["ray"]["networkPolicy"]["operatorNamespace"] == default
