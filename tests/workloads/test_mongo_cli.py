"""The `mongo` workload's flags and exit codes: write stages refused unless
allowed, a bad flag or no server in one line with exit 2, an unreachable URI
without its password, and `ray101 run mongo --json` with its benchmark files."""

from __future__ import annotations

import json
import time

import pytest
import ray
from pymongo import MongoClient

from jobs.mongo import workload
from jobs.mongo.partition import check_partitionable
from jobs.mongo.pipelines import PIPELINES, Pipeline, select_pipelines
from jobs.runtime import runner
from jobs.runtime.errors import UsageError
from jobs.runtime.ports import free_port
from tests.support import run_cli
from tests.workloads.mongo_support import DB

pytestmark = pytest.mark.mongodb


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
