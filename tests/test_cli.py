"""The ray101 command as a user runs it: exit codes, one-line errors, JSON."""

from __future__ import annotations

import json
import time

import pytest

from jobs import registry


def assert_usage_error(proc, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["run", "nope"], ["unknown workload", "retrieve"]),
        (["run"], ["name a workload"]),
        (["frobnicate"], ["unknown command"]),
        (["run", "retrieve", "--items", "0"], ["--items", "positive"]),
        (["run", "retrieve", "--delay", "-1"], ["--delay"]),
        (["run", "retrieve", "--delay", "soon"], ["--delay", "not a number"]),
        (["run", "dependencies", "--items", "-3"], ["--items"]),
        (["run", "retrieve", "--no-such-flag"], ["unrecognized"]),
        (["run", "all", "--only", "nope"], ["unknown workload"]),
        (["run", "retrieve", "--address", "ray://127.0.0.1"], ["port"]),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, argv, fragments):
    assert_usage_error(cli(*argv, timeout=60), *fragments)


def test_unreachable_address_fails_fast(cli):
    start = time.monotonic()
    proc = cli("run", "counter", "--address", "127.0.0.1:1", timeout=60)
    assert_usage_error(proc, "cannot reach Ray", "127.0.0.1:1")
    assert time.monotonic() - start < 20


def test_list_names_every_workload(cli):
    proc = cli("list")
    assert proc.returncode == 0
    assert [line.split()[0] for line in proc.stdout.splitlines()] == list(registry.WORKLOADS)


def test_module_entry_point_prints_one_json_object(cli):
    import subprocess
    import sys

    from tests.support import REPO_ROOT

    proc = subprocess.run(
        [sys.executable, "-m", "jobs.counter", "--json", "--num-cpus", "2"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["name"] == "counter" and data["ok"] is True
    assert data["result"] == [0, 1, 3, 6, 10]


def test_run_core_workloads_together_prints_a_table(cli):
    proc = cli("run", "all", "--only", "dependencies", "dag", "counter", timeout=180)
    assert proc.returncode == 0, proc.stderr
    header, rule, *rows = proc.stdout.strip().splitlines()
    assert header.split()[:3] == ["workload", "ok", "result"]
    assert [r.split()[0] for r in rows] == ["dependencies", "dag", "counter"]
    assert all(r.split()[1] == "yes" for r in rows)


@pytest.mark.slow
def test_run_all_json_is_all_ok(cli):
    proc = cli("run", "all", "--json", timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["ok"] is True
    assert [w["name"] for w in data["workloads"]] == list(registry.WORKLOADS)
    by_name = {w["name"]: w for w in data["workloads"]}
    assert by_name["dependencies"]["result"] == 20
    assert by_name["counter"]["result"] == [0, 1, 3, 6, 10]
