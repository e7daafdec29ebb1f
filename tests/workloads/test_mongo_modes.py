"""The `mongo` workload: every mode against a plain-Python reference.

The reference is computed from the very documents loaded into the server
(2,000 movies, 4,000 comments). MongoDB is the session's ``mongo_server``
(tests/conftest.py): MONGODB_URI's server (a scratch database, dropped
afterwards), else the nx-27017 stand-in. Against the stand-in the comparison
tolerates only its known defects, listed in tests/README.md. The pool goes on
when an actor restarts or is gone, and an aggregation runs again when its
connection is cut mid-stream.
"""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import urlsplit

import pytest
import ray

from jobs.mongo.benchmark import Benchmark, benchmark
from jobs.mongo.partition import balance_problems, part_counts
from jobs.mongo.pipelines import PIPELINES, task_for
from jobs.mongo.pool import Aggregator, AggregatorPool
from jobs.mongo.report import report
from tests.servers.cutting_proxy import cutting_proxy
from tests.workloads.mongo_support import COMMENTS, DB, MOVIES, assert_matches_reference, reference

pytestmark = pytest.mark.mongodb


@pytest.fixture(scope="module")
def bench(ray_session, settings) -> Benchmark:
    return benchmark(settings, PIPELINES, pool_size=3, partitions=3, warmup=0)


@pytest.mark.parametrize("mode", ["sequential", "actors", "pool"])
def test_mode_equals_the_python_reference(bench, mflix, standin, mode):
    assert_matches_reference(getattr(bench, mode).outcomes, reference(mflix[1]), standin)


def test_partitioned_equals_unpartitioned(bench, mflix):
    merged = bench.partitioned.outcomes[0]
    assert merged.same_as(bench.baseline)
    assert (merged.count, merged.digest) == reference(mflix[1])["movies"]
    assert len(bench.partition_outcomes) == 3
    counts = [o.count for o in bench.partition_outcomes]
    assert sum(counts) == MOVIES and min(counts) > 0
    histogram = Counter(m["year"] for m in mflix[1].movies if is_number(m.get("year")))
    bounds = [f["year"]["$gte"] for f in bench.partition_filters[1:]]
    assert counts[1:] == part_counts(histogram, bounds)[1:]  # the ranges the plan made
    assert balance_problems(histogram, bounds, 3) == []
    assert not bench.disagreements()["partitioned"]


def test_report_tutorial_lines_table_and_json(bench, settings, standin):
    context = {
        "server": "test server",
        "standin": standin,
        "uri": settings.uri,
        "database": DB,
        "documents": {"movies": MOVIES, "comments": COMMENTS},
        "options": {"pool_size": 3},
    }
    job = report(bench, PIPELINES, context)
    assert job.ok and job.result["all_modes_equal"] is True
    total = MOVIES + COMMENTS + len(job.details["pipelines"]["top_genres"]["rows"]) + 13 + 10
    assert job.result["results"] == total
    text = "\n".join(job.lines)
    assert text.count(f"Number of results: {total}") == 3
    assert text.count("Execution time:") == 4
    assert "same results" in text and "All modes returned the same results." in text
    for key in ("sequential_s", "actors_s", "pool_startup_s", "pool_s", "partitioned_s"):
        assert job.timings[key] > 0
    assert job.timings["pool_ratio"] == pytest.approx(
        job.timings["pool_s"] / job.timings["sequential_s"]
    )
    json.loads(json.dumps(job.to_dict(), default=str))  # JSON-ready


def test_pool_retries_on_the_restarted_actor(ray_session, settings, mflix, standin):
    pool = AggregatorPool(settings, 2)
    try:
        before = pool.wait_ready()[0]["pid"]
        # Dead as the batch is handed out; max_restarts brings it back, and
        # calls made while it restarts fail at once (max_task_retries=0).
        ray.kill(pool.actors[0], no_restart=False)
        outcomes = pool.run([task_for(p) for p in PIPELINES])
        assert pool.retries >= 1 and not pool.lost
        assert_matches_reference(outcomes, reference(mflix[1]), standin)
        assert pool.wait_ready()[0]["pid"] != before  # a new process took its place
    finally:
        pool.close()


def test_pool_goes_on_without_an_actor_that_is_gone(ray_session, settings, mflix, standin):
    tasks = [task_for(p) for p in PIPELINES]
    pool = AggregatorPool(settings, 2)
    try:
        pool.wait_ready()
        ray.kill(pool.actors[0], no_restart=True)
        outcomes = pool.run(tasks)
        assert pool.lost == {0} and pool.retries >= 1
        assert_matches_reference(outcomes, reference(mflix[1]), standin)
    finally:
        pool.close()
    alone = AggregatorPool(settings, 1)
    try:
        alone.wait_ready()
        ray.kill(alone.actors[0], no_restart=True)
        with pytest.raises(RuntimeError, match="no Aggregator actor is left"):
            alone.run(tasks)
    finally:
        alone.close()


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def test_an_aggregation_cut_mid_stream_runs_again(mflix, standin):
    """The connection drops inside a cursor (in a getMore, which pymongo never
    retries): the aggregation runs once more and gives the full, right answer."""
    uri, dataset = mflix
    server = urlsplit(uri)
    with cutting_proxy((server.hostname, server.port), cut_after=64 * 1024) as proxy:
        through_proxy = uri.replace(server.netloc, f"127.0.0.1:{proxy.port}")
        # Small batches, so the reply the cut lands in is a getMore's.
        aggregator = Aggregator(through_proxy, DB, batch_size=50, max_time_ms=30_000)
        try:
            outcomes = [aggregator.run(task_for(p)) for p in PIPELINES]
        finally:
            aggregator.close()
    assert proxy.cuts == 1
    assert_matches_reference(outcomes, reference(dataset), standin)
