"""What `helm upgrade` does to objects Kubernetes will not change in place."""

from __future__ import annotations

from collections.abc import Iterator

from tools.manifests.checks.context import Context, Expect
from tools.manifests.checks.lookups import dig
from tools.manifests.model import Problem, Rendered


def check_one_off_jobs(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """A Job the chart renders is an install/upgrade hook that deletes its
    previous run first: a Job's pod template is immutable, so as a plain
    release object a new image would stop `helm upgrade` ("field is
    immutable"). kustomize has no hooks (scripts/deploy deletes finished Jobs
    there), so only Helm renderings are held to it."""
    if r.tool != "helm":
        return
    for job in r.of_kind("Job"):
        annotations = dig(job, "metadata.annotations") or {}
        hooks = set(annotations.get("helm.sh/hook", "").split(","))
        policies = set(annotations.get("helm.sh/hook-delete-policy", "").split(","))
        if not {"post-install", "post-upgrade"} <= hooks:
            yield r.problem(
                job,
                "metadata.annotations",
                "not a post-install,post-upgrade hook: `helm upgrade` with a new image "
                "would stop on its immutable pod template",
            )
        elif "before-hook-creation" not in policies:
            yield r.problem(
                job,
                "metadata.annotations.helm.sh/hook-delete-policy",
                "without before-hook-creation the next upgrade finds the last run in its way",
            )
