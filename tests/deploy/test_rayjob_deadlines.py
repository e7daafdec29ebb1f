"""The RayJobs as KubeRay 1.7.0 runs them on a selected cluster: no retry of a
failed job (and no passage that says otherwise), bounded waits and deadlines
that never let a Ray job start after its RayJob is over, and driver slots."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.deploy.helpers import SOURCES, _mutated, _obj, _render, _report
from tools.chart import CHART_DIR, REPO_ROOT
from tools.manifests import checks
from tools.manifests.checks.lookups import split_timeout

TUNE, MONGO = "ray101-tune", "ray101-mongo"


def _deadline_problems(r, ctx, source):
    return list(checks.check_rayjob_deadlines(r, ctx, checks.EXPECT[source]))


@pytest.mark.parametrize("source", SOURCES)
def test_every_rayjob_is_bounded_before_and_after_it_starts(rendered, ctx, source):
    r = rendered[source]
    assert _deadline_problems(r, ctx, source) == [], source
    for job in r.of_kind("RayJob"):
        spec = job["spec"]
        # KubeRay refuses a RayJob-level retry with clusterSelector.
        assert spec["clusterSelector"] and not spec.get("backoffLimit"), job["metadata"]["name"]
        assert spec["preRunningDeadlineSeconds"] > 0
        assert json.loads(spec["entrypointResources"]) == {"driver_slot": 1}


def _set(path: str, value):
    def change(job):
        node = job
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value

    return change


@pytest.mark.parametrize(
    ("job", "path", "value", "message"),
    [
        (MONGO, "spec.preRunningDeadlineSeconds", None, "no bound on cluster start-up"),
        (TUNE, "spec.submitterPodTemplate.spec.activeDeadlineSeconds", None, "needs a deadline"),
        (TUNE, "spec.submitterPodTemplate.spec.activeDeadlineSeconds", 600, "needs a deadline"),
        (MONGO, "spec.activeDeadlineSeconds", 1800, "may be Failed while a pod still submits"),
        (MONGO, "spec.entrypointResources", '{"driver_slot": 8}', "would stay PENDING"),
        (MONGO, "spec.entrypointResources", '{"gpu_slot": 1}', "would stay PENDING"),
    ],
)
def test_a_rayjob_that_could_start_after_it_failed_is_reported(
    rendered, ctx, job, path, value, message
):
    r = _mutated(rendered["helm:default"], "RayJob", job, _set(path, value))
    assert message in _report(_deadline_problems(r, ctx, "helm:default"))


def test_an_unbounded_wait_is_reported(rendered, ctx):
    def unbounded(job):
        init = job["spec"]["submitterPodTemplate"]["spec"]["initContainers"][0]
        init["command"] = split_timeout(init["command"])[1]

    r = _mutated(rendered["helm:default"], "RayJob", MONGO, unbounded)
    assert "an unbounded wait" in _report(_deadline_problems(r, ctx, "helm:default"))


def test_more_submitter_retries_lengthen_the_rayjob_deadline(ctx):
    """The chart sums the deadlines from the values, as the check does."""
    short, more = _render({}), _render({"jobs": {"submitterBackoffLimit": 5}})
    pod = _obj(short, "RayJob", TUNE)["spec"]["submitterPodTemplate"]["spec"]
    for r, attempts in ((short, 3), (more, 6)):
        spec = _obj(r, "RayJob", TUNE)["spec"]
        assert spec["activeDeadlineSeconds"] == (
            spec["preRunningDeadlineSeconds"] + attempts * pod["activeDeadlineSeconds"]
        )
        assert _deadline_problems(r, ctx, "helm:default") == []


def test_the_head_offers_the_driver_slots_and_the_pending_bound(rendered):
    r = _render({"ray": {"head": {"driverSlots": 2}}, "jobs": {"startTimeoutSeconds": 120}})
    head = _obj(r, "RayCluster", "ray101")["spec"]["headGroupSpec"]
    # KubeRay's documented form: the JSON string in double quotes, for the shell.
    assert head["rayStartParams"]["resources"] == '"{\\"driver_slot\\":2}"'
    env = {e["name"]: e.get("value") for e in head["template"]["spec"]["containers"][0]["env"]}
    assert env["RAY_JOB_START_TIMEOUT_SECONDS"] == "120"


def test_a_rendered_wait_gives_up_at_its_timeout(rendered):
    """The wait-for-bucket command as the chart renders it, its bound cut to 2 s,
    against an endpoint where nothing answers: `timeout` ends it with 124."""
    init = next(
        c
        for c in _obj(rendered["helm:kind"], "RayJob", TUNE)["spec"]["submitterPodTemplate"][
            "spec"
        ]["initContainers"]
        if c["name"] == "wait-for-bucket"
    )
    seconds, command = split_timeout(init["command"])
    assert seconds == 900
    argv = ["timeout", "2", checks.probe_python(), *command[1:], "--interval", "0.2"]
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x"}
    proc = subprocess.run(
        argv, env={"PATH": "/usr/bin:/bin", **env}, cwd=REPO_ROOT, capture_output=True, timeout=60
    )
    assert proc.returncode == 124, proc.stdout + proc.stderr


# A sentence that says a failed job or RayJob is retried or run again, unless it
# says the opposite in the same sentence.
_RETRY_CLAIM = re.compile(
    r"(is|are|gets?) (retried|re-?run|resubmitted)|retries (it|the job|the ray job)|"
    r"retried up to|(fails|failed)[^.]*\bor is retried",
    re.IGNORECASE,
)
_DENIAL = re.compile(r"\b(not|never|nothing|no)\b", re.IGNORECASE)


def _passages() -> list[tuple[str, str]]:
    """(file, sentence) of the docs, the READMEs and the values' comments."""
    files = [*sorted((REPO_ROOT / "docs").glob("*.md")), REPO_ROOT / "README.md"]
    files += sorted(CHART_DIR.glob("values*.yaml")) + [CHART_DIR / "templates" / "NOTES.txt"]
    found = []
    for path in files:
        text = path.read_text()
        if path.suffix == ".yaml":
            text = "\n".join(line.split("#", 1)[1] for line in text.splitlines() if "#" in line)
        for sentence in re.split(r"(?<=[.!?])\s+|\n\s*\n", re.sub(r"[ \t]*\n[ \t#]*", " ", text)):
            found.append((str(path.relative_to(REPO_ROOT)), sentence))
    return found


def test_no_passage_says_a_failed_rayjob_is_run_again(rendered):
    """The RayJobs select the shared cluster, where KubeRay runs a failed job
    never again: no passage may promise a retry."""
    assert all(j["spec"].get("clusterSelector") for j in rendered["helm:default"].of_kind("RayJob"))
    claims = [
        f"{where}: {sentence.strip()[:160]}"
        for where, sentence in _passages()
        if _RETRY_CLAIM.search(sentence) and not _DENIAL.search(sentence)
    ]
    assert claims == []


@pytest.mark.parametrize(
    "sentence",
    [
        "A RayJob fails or is retried (`backoffLimit`).",
        "the job is marked failed and KubeRay's submitter retries it (`jobs.submitterBackoffLimit`).",
        "the RayJobs' Ray jobs fail and are retried up to jobs.submitterBackoffLimit",
    ],
)
def test_a_retry_promise_is_found(sentence):
    assert _RETRY_CLAIM.search(sentence) and not _DENIAL.search(sentence)


def test_the_values_say_what_the_submitter_retry_does_not_do():
    text = (CHART_DIR / "values.yaml").read_text()
    block = text[text.index("submitterBackoffLimit") - 700 : text.index("submitterBackoffLimit")]
    assert "never runs a failed Ray job again" in block
