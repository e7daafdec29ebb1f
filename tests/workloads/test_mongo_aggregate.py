"""The `mongo` workload: every mode against a plain-Python reference.

The reference is computed from the very documents loaded into the server
(2,000 movies, 4,000 comments). MongoDB is the session's ``mongo_server``
(tests/conftest.py): MONGODB_URI's server (a scratch database, dropped
afterwards), else the nx-27017 stand-in. Against the stand-in the comparison
tolerates only its known defects, listed in tests/README.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import bson
import pytest
import ray
from pymongo import MongoClient

import jobs.mongo as workload
from jobs.mongo import partition
from jobs.mongo.benchmark import Benchmark, benchmark
from jobs.mongo.checksum import Checksum, Outcome, merge
from jobs.mongo.data import Dataset, generate
from jobs.mongo.load import load
from jobs.mongo.partition import (
    balance_problems,
    check_partitionable,
    part_counts,
    partition_bounds,
    range_filters,
)
from jobs.mongo.pipelines import PIPELINES, Pipeline, select_pipelines, task_for
from jobs.mongo.pool import AggregatorPool, Settings
from jobs.mongo.report import report
from jobs.runtime import runner
from jobs.runtime.errors import UsageError
from jobs.runtime.ports import free_port
from tests.support import run_cli

pytestmark = pytest.mark.mongodb

DB = "ray101_test_aggregate"
MOVIES, COMMENTS = 2_000, 4_000


@pytest.fixture(scope="module")
def mflix(mongo_server) -> Iterator[tuple[str, Dataset]]:
    dataset = generate(MOVIES, COMMENTS)
    with MongoClient(mongo_server.uri) as client:
        client.drop_database(DB)
        load(client[DB], dataset, progress=False)
        yield mongo_server.uri, dataset
        client.drop_database(DB)


@pytest.fixture(scope="module")
def standin(mongo_server) -> bool:
    """Against the stand-in, the comparison tolerates its known defects (tests/README.md)."""
    return mongo_server.standin


@pytest.fixture(scope="module")
def settings(mflix) -> Settings:
    return Settings(mflix[0], DB, batch_size=500, max_time_ms=30_000)


# ---------------------------------------------------------------- the reference


def same_values(a: Any, b: Any, rel_tol: float = 1e-9) -> bool:
    """Deep equality where floats may differ by summation order."""
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-12)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_values(a[k], b[k], rel_tol) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(
            same_values(x, y, rel_tol) for x, y in zip(a, b, strict=True)
        )
    return a == b


def digest_of(raw_docs: list[bytes], ordered: bool) -> str:
    checksum = Checksum(ordered)
    for raw in raw_docs:
        checksum.add(raw)
    return checksum.hexdigest()


def _set_digest(docs: list[dict]) -> str:
    total = 0
    for doc in docs:
        total += int.from_bytes(hashlib.blake2b(bson.encode(doc), digest_size=16).digest(), "big")
    return f"set:{total % (1 << 128):032x}"


def reference(dataset: Dataset) -> dict[str, Any]:
    """What each built-in pipeline must return, computed in plain Python."""
    genres: dict[str, list] = defaultdict(lambda: [0, []])
    for movie in dataset.movies:
        for genre in movie.get("genres", []):
            genres[genre][0] += 1
            if "rating" in movie["imdb"]:
                genres[genre][1].append(movie["imdb"]["rating"])
    top_genres = [
        {"_id": g, "count": n, "avg_rating": math.fsum(r) / len(r) if r else None}
        for g, (n, r) in sorted(genres.items(), key=lambda kv: (-kv[1][0], kv[0]))
    ]
    decades = Counter(m["year"] - m["year"] % 10 for m in dataset.movies)
    by_id = {m["_id"]: m for m in dataset.movies}
    commented = sorted(
        Counter(c["movie_id"] for c in dataset.comments).items(), key=lambda kv: (-kv[1], kv[0])
    )
    return {
        "movies": (len(dataset.movies), _set_digest(dataset.movies)),
        "comments": (len(dataset.comments), _set_digest(dataset.comments)),
        "top_genres": top_genres,
        "movies_per_decade": [{"_id": d, "count": n} for d, n in sorted(decades.items())],
        "most_commented": [
            {"_id": i, "comments": n, "title": by_id[i]["title"], "year": by_id[i]["year"]}
            for i, n in commented[:10]
        ],
    }


def assert_matches_reference(
    outcomes: list[Outcome], expected: dict[str, Any], standin: bool
) -> None:
    got = dict(zip([p.name for p in PIPELINES], outcomes, strict=True))
    for scan in ("movies", "comments"):
        assert (got[scan].count, got[scan].digest) == expected[scan], scan
    for name in ("top_genres", "movies_per_decade", "most_commented"):
        rows, want = got[name].rows, expected[name]
        assert got[name].count == len(want), name
        if standin and name == "top_genres":
            # Known stand-in defect: this $sort is ignored; the rows must still be right.
            rows = sorted(rows, key=lambda r: (-r["count"], r["_id"]))
        # 1990 == 1990.0: the stand-in returns decades as doubles (tests/README.md).
        assert same_values(rows, want), f"{name}: {rows[:3]} != {want[:3]}"


@pytest.fixture(scope="module")
def bench(ray_session, settings) -> Benchmark:
    return benchmark(settings, PIPELINES, pool_size=3, partitions=3, warmup=0)


# ---------------------------------------------------------------- modes


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


def test_partition_filters_are_disjoint_and_complete():
    def matches(doc: dict, query: dict) -> bool:
        for key, cond in query.items():
            if key == "$or":
                if not any(matches(doc, q) for q in cond):
                    return False
            elif key == "$nor":
                if any(matches(doc, q) for q in cond):
                    return False
            else:
                value = doc.get(key)
                is_number = isinstance(value, int | float) and not isinstance(value, bool)
                for op, arg in cond.items():
                    if op == "$type":
                        ok = arg == "number" and is_number
                    elif op == "$lt":
                        ok = is_number and value < arg
                    else:
                        assert op == "$gte", op
                        ok = is_number and value >= arg
                    if not ok:
                        return False
        return True

    years = [1900, 1950, 1950, 1990, 1999, 2000, 2005, 2010, 2016, 2016, 1987.5]
    docs = [{"year": y} for y in years] + [{"year": "2012è"}, {}, {"year": None}]
    histogram = Counter(y for y in years)
    for parts in (1, 2, 3, 4, 20):
        filters = range_filters("year", partition_bounds(histogram, parts))
        assert 1 <= len(filters) <= parts
        for doc in docs:
            assert sum(matches(doc, f) for f in filters) == 1, (parts, doc)


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


MOVIES_SCAN = next(p for p in PIPELINES if p.name == partition.PARTITIONED_PIPELINE)
SKEWED = {
    "recent years": Counter({y: 10 + 3 * (y - 1900) for y in range(1900, 2017)}),
    "one big year": Counter({1990: 500, **{y: 5 for y in range(1950, 2016) if y != 1990}}),
    "few keys": Counter({1: 7, 2: 1, 3: 1, 4: 9}),
    "uniform": Counter({y: 4 for y in range(1900, 2000)}),
}


@pytest.mark.parametrize("name", SKEWED)
@pytest.mark.parametrize("parts", [2, 3, 4, 8])
def test_partition_bounds_stay_balanced_on_skewed_data(name, parts):
    histogram = SKEWED[name]
    bounds = partition_bounds(histogram, parts)
    assert bounds == sorted(bounds) and len(bounds) <= parts - 1
    assert balance_problems(histogram, bounds, parts) == []
    if name == "uniform":  # nothing stops an even split: every range is used
        assert len(bounds) == parts - 1


def test_planted_skewed_bounds_are_caught():
    histogram = SKEWED["recent years"]  # most movies are recent
    even = partition_bounds(histogram, 3)
    skewed = [1930, 1960]  # even in years, not in movies: the last range holds most
    assert balance_problems(histogram, even, 3) == []
    (problem,) = balance_problems(histogram, skewed, 3)
    assert problem.startswith("range 2 holds")


def test_plan_partitions_refuses_an_unbalanced_plan(monkeypatch):
    """The plan is checked where it is made: a broken partition_bounds is an error,
    not a silently slower partitioned mode."""

    class Db(dict):
        def __missing__(self, name):
            class Collection:
                @staticmethod
                def aggregate(_):
                    return [{"_id": y, "n": n} for y, n in SKEWED["recent years"].items()]

            return Collection()

    monkeypatch.setattr(partition, "partition_bounds", lambda histogram, parts: [1930, 1960])
    with pytest.raises(RuntimeError, match="unbalanced partition plan"):
        partition.plan_partitions(Db(), MOVIES_SCAN, "year", 3)


# ---------------------------------------------------------------- pure helpers


def test_checksums_of_parts_add_up_and_order_matters():
    docs = [bson.encode({"i": i}) for i in range(10)]
    whole = digest_of(docs, ordered=False)
    parts = [
        Outcome(5, digest_of(docs[:5], False), None),
        Outcome(5, digest_of(docs[5:], False), None),
    ]
    assert merge(parts).digest == whole == digest_of(docs[::-1], ordered=False)
    assert digest_of(docs, ordered=True) != digest_of(docs[::-1], ordered=True)
    with pytest.raises(ValueError):
        merge([Outcome(1, digest_of(docs, True), None)])


def test_order_detection():
    by_name = {p.name: p for p in PIPELINES}
    assert not by_name["movies"].ordered and not by_name["comments"].ordered
    assert by_name["top_genres"].ordered and by_name["most_commented"].ordered
    assert not Pipeline("p", "c", [{"$sort": {"a": 1}}, {"$group": {"_id": "$a"}}]).ordered


def test_same_values_tolerates_summation_order_only():
    assert same_values([{"a": 0.1 + 0.2, "b": 3}], [{"a": 0.3, "b": 3.0}])
    assert not same_values([{"a": 0.3}], [{"a": 0.31}])
    assert not same_values([1, 2], [2, 1])
    assert not same_values({"a": 1}, {"a": 1, "b": 2})


# ---------------------------------------------------------------- flags and exit codes


def test_write_stages_are_refused_unless_allowed():
    out = '{"name": "w", "collection": "movies", "pipeline": [{"$match": {}}, {"$out": "copy"}]}'
    nested = json.dumps(
        {
            "name": "n",
            "collection": "movies",
            "pipeline": [{"$facet": {"x": [{"$merge": {"into": "m"}}]}}],
        }
    )
    for spec in (out, nested):
        with pytest.raises(UsageError, match="--allow-writes"):
            select_pipelines([spec], allow_writes=False)
    assert select_pipelines([out], allow_writes=True)[-1].name == "w"
    with pytest.raises(UsageError, match="already named"):
        select_pipelines(['{"name": "movies", "collection": "m", "pipeline": []}'], False)
    with pytest.raises(UsageError, match="cannot be partitioned"):
        check_partitionable(Pipeline("p", "movies", [{"$limit": 3}]))


def test_write_stage_exits_2_before_touching_the_server(ray_session, mflix, capsys):
    uri = mflix[0]
    extra = '{"name": "w", "collection": "movies", "pipeline": [{"$out": "copy"}]}'
    code = runner.main_for(workload, ["--uri", uri, "--db", DB, "--extra-pipeline", extra])
    assert code == 2
    assert "--allow-writes" in capsys.readouterr().err
    with MongoClient(uri) as client:
        assert "copy" not in client[DB].list_collection_names()


def test_negative_warmup_is_refused_in_one_line(capsys):
    assert runner.main_for(workload, ["--standin", "--warmup", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--warmup" in err and "must be 0 or more" in err


def test_preflight_hands_run_what_it_found(monkeypatch):
    monkeypatch.delenv("MONGODB_URI", raising=False)
    extra = '{"name": "n", "collection": "movies", "pipeline": [{"$match": {}}]}'
    args = runner.build_parser(workload).parse_args(
        ["--standin", "--movies", "30", "--seed", "4", "--extra-pipeline", extra]
    )
    checked = workload.preflight(args)
    assert checked.uri is None  # the stand-in
    assert [p.name for p in checked.pipelines] == [*(p.name for p in PIPELINES), "n"]
    assert (checked.data.movies, checked.data.seed) == (30, 4)
    assert not hasattr(args, "pipelines")  # nothing written onto the flags


def test_no_server_exits_2_with_the_three_ways(ray_session, monkeypatch, capsys):
    monkeypatch.delenv("MONGODB_URI", raising=False)
    assert runner.main_for(workload, []) == 2
    err = capsys.readouterr().err
    assert "MONGODB_URI" in err and "--uri" in err and "--standin" in err
    assert len(err.strip().splitlines()) == 1


def test_unreachable_uri_exits_2_within_10_s_without_the_password():
    uri = f"mongodb://app:Pa55w0rdX@127.0.0.1:{free_port()}/"
    start = time.monotonic()
    done = run_cli("run", "mongo", "--uri", uri, timeout=60)
    elapsed = time.monotonic() - start
    assert done.returncode == 2, done.stderr
    assert elapsed < 10
    assert "Pa55w0rdX" not in done.stdout + done.stderr
    assert "app:***@" in done.stderr and "cannot reach MongoDB" in done.stderr


def test_cli_run_json_and_benchmark_files(ray_session, mflix, standin, tmp_path, capsys):
    uri = mflix[0]
    args = ["--json", "--uri", uri, "--db", DB, "--pool-size", "2", "--warmup", "0"]
    assert runner.main_for(workload, [*args, "--out", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["result"]["all_modes_equal"]
    assert data["details"]["modes_equal"] == {"actors": True, "pool": True, "partitioned": True}
    for key in ("sequential_s", "actors_s", "pool_startup_s", "pool_s", "partitioned_s"):
        assert data["timings"][key] > 0
    for key in ("actors_ratio", "pool_ratio", "partitioned_ratio"):
        assert data["timings"][key] > 0
    saved = json.loads((tmp_path / "mongo.json").read_text())
    assert saved["timings"]["pool_s"] == pytest.approx(data["timings"]["pool_s"], abs=1e-3)
    assert saved["details"]["server"] == data["result"]["server"]
    assert saved["environment"]["ray"] == ray.__version__
    assert (tmp_path / "mongo.png").stat().st_size > 0
    if standin:
        # Given by --uri, it is not started here, yet still labelled as what it is.
        assert "not MongoDB" in saved["details"]["server"] and saved["details"]["standin"] is False
