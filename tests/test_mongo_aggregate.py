"""The `mongo` workload: every mode against a plain-Python reference.

The reference is computed from the very documents loaded into the server
(2,000 movies, 4,000 comments). MongoDB comes from MONGODB_URI when set (a
scratch database, dropped afterwards), else from one nx-27017 stand-in
started for this module. Against the stand-in the comparison tolerates only
its known defects, listed in tests/README.md.
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

from jobs import mongo_aggregate as ma
from jobs import mongo_client, mongo_data, mongo_standin, runner
from jobs.errors import UsageError
from jobs.ports import free_port
from tests.conftest import run_cli

pytestmark = pytest.mark.mongodb

DB = "ray101_test_aggregate"
MOVIES, COMMENTS = 2_000, 4_000
# Against the stand-in: $sort after $unwind + $group does not order (tests/README.md).
STANDIN = mongo_client.resolve_uri() is None


@pytest.fixture(scope="module")
def mflix() -> Iterator[tuple[str, mongo_data.Dataset]]:
    dataset = mongo_data.generate(MOVIES, COMMENTS)

    def load(uri: str) -> None:
        with MongoClient(uri) as client:
            client.drop_database(DB)
            mongo_data.load(client[DB], dataset, progress=False)

    uri = mongo_client.resolve_uri()
    if uri:
        load(uri)
        yield uri, dataset
        with MongoClient(uri) as client:
            client.drop_database(DB)
        return
    with mongo_standin.standin(announce=False) as standin_uri:
        load(standin_uri)
        yield standin_uri, dataset


@pytest.fixture(scope="module")
def settings(mflix) -> ma.Settings:
    return ma.Settings(mflix[0], DB, batch_size=500, max_time_ms=30_000)


# ---------------------------------------------------------------- the reference


def _set_digest(docs: list[dict]) -> str:
    total = 0
    for doc in docs:
        total += int.from_bytes(hashlib.blake2b(bson.encode(doc), digest_size=16).digest(), "big")
    return f"set:{total % (1 << 128):032x}"


def reference(dataset: mongo_data.Dataset) -> dict[str, Any]:
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


def assert_matches_reference(outcomes: list[ma.Outcome], expected: dict[str, Any]) -> None:
    got = dict(zip([p.name for p in ma.PIPELINES], outcomes, strict=True))
    for scan in ("movies", "comments"):
        assert (got[scan].count, got[scan].digest) == expected[scan], scan
    for name in ("top_genres", "movies_per_decade", "most_commented"):
        rows, want = got[name].rows, expected[name]
        assert got[name].count == len(want), name
        if STANDIN and name == "top_genres":
            # Known stand-in defect: this $sort is ignored; the rows must still be right.
            rows = sorted(rows, key=lambda r: (-r["count"], r["_id"]))
        # 1990 == 1990.0: the stand-in returns decades as doubles (tests/README.md).
        assert ma.same_values(rows, want), f"{name}: {rows[:3]} != {want[:3]}"


@pytest.fixture(scope="module")
def bench(ray_session, settings) -> ma.Benchmark:
    return ma.benchmark(settings, ma.PIPELINES, pool_size=3, partitions=3, warmup=0)


# ---------------------------------------------------------------- modes


@pytest.mark.parametrize("mode", ["sequential", "actors", "pool"])
def test_mode_equals_the_python_reference(bench, mflix, mode):
    assert_matches_reference(getattr(bench, mode).outcomes, reference(mflix[1]))


def test_partitioned_equals_unpartitioned(bench, mflix):
    merged = bench.partitioned.outcomes[0]
    assert merged.same_as(bench.baseline)
    assert (merged.count, merged.digest) == reference(mflix[1])["movies"]
    assert len(bench.partition_outcomes) == 3
    counts = [o.count for o in bench.partition_outcomes]
    assert sum(counts) == MOVIES and min(counts) > 0
    assert max(counts) < MOVIES * 0.6  # the plan balances the ranges
    assert not bench.disagreements()["partitioned"]


def test_report_tutorial_lines_table_and_json(bench, settings):
    context = {
        "server": "test server",
        "standin": STANDIN,
        "uri": settings.uri,
        "database": DB,
        "documents": {"movies": MOVIES, "comments": COMMENTS},
        "options": {"pool_size": 3},
    }
    job = ma.report(bench, ma.PIPELINES, context)
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


def test_pool_outlives_a_killed_actor(ray_session, settings, mflix):
    pool = ma.AggregatorPool(settings, 2)
    try:
        before = pool.wait_ready()[0]["pid"]
        running = pool.start([ma.task_for(p) for p in ma.PIPELINES])
        ray.kill(pool.actors[0], no_restart=False)  # dies mid-run; max_restarts brings it back
        outcomes = running.result()
        assert pool.retries >= 1
        assert_matches_reference(outcomes, reference(mflix[1]))
        assert pool.wait_ready()[0]["pid"] != before  # a new process took its place
    finally:
        pool.close()


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
        filters = ma.range_filters("year", ma.partition_bounds(histogram, parts))
        assert 1 <= len(filters) <= parts
        for doc in docs:
            assert sum(matches(doc, f) for f in filters) == 1, (parts, doc)


# ---------------------------------------------------------------- pure helpers


def test_checksums_of_parts_add_up_and_order_matters():
    docs = [bson.encode({"i": i}) for i in range(10)]
    whole = ma.digest_of(docs, ordered=False)
    parts = [
        ma.Outcome(5, ma.digest_of(docs[:5], False), None),
        ma.Outcome(5, ma.digest_of(docs[5:], False), None),
    ]
    assert ma.merge(parts).digest == whole == ma.digest_of(docs[::-1], ordered=False)
    assert ma.digest_of(docs, ordered=True) != ma.digest_of(docs[::-1], ordered=True)
    with pytest.raises(ValueError):
        ma.merge([ma.Outcome(1, ma.digest_of(docs, True), None)])


def test_order_detection():
    by_name = {p.name: p for p in ma.PIPELINES}
    assert not by_name["movies"].ordered and not by_name["comments"].ordered
    assert by_name["top_genres"].ordered and by_name["most_commented"].ordered
    assert not ma.Pipeline("p", "c", [{"$sort": {"a": 1}}, {"$group": {"_id": "$a"}}]).ordered


def test_same_values_tolerates_summation_order_only():
    assert ma.same_values([{"a": 0.1 + 0.2, "b": 3}], [{"a": 0.3, "b": 3.0}])
    assert not ma.same_values([{"a": 0.3}], [{"a": 0.31}])
    assert not ma.same_values([1, 2], [2, 1])
    assert not ma.same_values({"a": 1}, {"a": 1, "b": 2})


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
            ma.select_pipelines([spec], allow_writes=False)
    assert ma.select_pipelines([out], allow_writes=True)[-1].name == "w"
    with pytest.raises(UsageError, match="already named"):
        ma.select_pipelines(['{"name": "movies", "collection": "m", "pipeline": []}'], False)
    with pytest.raises(UsageError, match="cannot be partitioned"):
        ma.check_partitionable(ma.Pipeline("p", "movies", [{"$limit": 3}]))


def test_write_stage_exits_2_before_touching_the_server(ray_session, mflix, capsys):
    uri = mflix[0]
    extra = '{"name": "w", "collection": "movies", "pipeline": [{"$out": "copy"}]}'
    code = runner.main_for(ma, ["--uri", uri, "--db", DB, "--extra-pipeline", extra])
    assert code == 2
    assert "--allow-writes" in capsys.readouterr().err
    with MongoClient(uri) as client:
        assert "copy" not in client[DB].list_collection_names()


def test_no_server_exits_2_with_the_three_ways(ray_session, monkeypatch, capsys):
    monkeypatch.delenv("MONGODB_URI", raising=False)
    assert runner.main_for(ma, []) == 2
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


def test_cli_run_json_and_benchmark_files(ray_session, mflix, tmp_path, capsys):
    uri = mflix[0]
    args = ["--json", "--uri", uri, "--db", DB, "--pool-size", "2", "--warmup", "0"]
    assert runner.main_for(ma, [*args, "--out", str(tmp_path)]) == 0
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
    if STANDIN:
        # Given by --uri, it is not started here, yet still labelled as what it is.
        assert "not MongoDB" in saved["details"]["server"] and saved["details"]["standin"] is False
