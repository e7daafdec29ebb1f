"""Tune's storage: a bucket every node reaches, the one the bucket Job creates,
with credentials set somewhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from tools.manifests.checks.context import Context, Expect
from tools.manifests.checks.lookups import bucket_created, runtime_env_vars
from tools.manifests.model import Problem, Rendered, containers, pod_templates


def check_tune_storage(r: Rendered, ctx: Context, expect: Expect) -> Iterator[Problem]:
    """The tune job writes where every node can reach: an S3/GCS bucket (SeaweedFS's on kind)."""
    job = next((o for o in r.of_kind("RayJob") if o["metadata"]["name"].endswith("-tune")), None)
    if job is None:
        return
    env = runtime_env_vars(job)
    where = "spec.runtimeEnvYAML.env_vars.RAY101_STORAGE_PATH"
    path = env.get("RAY101_STORAGE_PATH", "")
    if not re.match(r"^(s3|gs)://[^/]+", path):
        yield r.problem(
            job,
            where,
            f"{path!r}: a multi-node Tune run needs a bucket every node reaches (s3:// or gs://)",
        )
        return
    endpoint = env.get("AWS_ENDPOINT_URL")
    if endpoint:
        # The bucket must be the one the bucket Job creates.
        buckets = {
            bucket_created(c)
            for o in r.of_kind("Job")
            for t in pod_templates(o)
            for _, c in containers(t)
        } - {None}
        bucket = urlsplit(path).netloc
        if bucket not in buckets:
            yield r.problem(
                job,
                where,
                f"bucket {bucket!r} is not the one the bucket Job creates ({sorted(buckets)})",
            )
        cluster = next(iter(r.of_kind("RayCluster")), None)
        names = {
            e.get("name")
            for t in pod_templates(cluster or {})
            for _, c in containers(t)
            for e in c.get("env") or []
        }
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            if key not in names and key not in env:
                yield r.problem(
                    cluster or job,
                    "spec",
                    f"{key} is set nowhere, so Tune cannot write to {endpoint}",
                )
