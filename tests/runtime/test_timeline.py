"""Benchmark timelines: every round's tasks, read back from Ray's task events, and the
workers the first parallel round finds already started (or not, with --cold)."""

from __future__ import annotations

import pytest

from jobs import dependencies, retrieve
from jobs.runtime import runner

pytestmark = pytest.mark.usefixtures("ray_session")


def spans_by_label(result) -> dict[str, list[dict]]:
    return {r["label"]: r["spans"] for r in result.details["timeline"]["rounds"]}


def test_retrieve_timeline_has_every_item_of_every_round_and_plots():
    result = runner.invoke(retrieve, ["--items", "4", "--delay", "0.3"])
    assert result.ok, result.error
    rounds = result.details["timeline"]["rounds"]
    assert [r["label"] for r in rounds][:2] == ["sequential", "parallel, first round"]
    assert rounds[2]["label"].startswith("parallel, warm round")
    assert [s["name"] for s in rounds[0]["spans"]] == [f"retrieve_item {i}" for i in range(4)]
    for r in rounds[1:]:
        assert [s["name"] for s in r["spans"]] == [f"retrieve_task {i}" for i in range(4)]
        for s in r["spans"]:
            start, end = s["ran"]
            assert 0 <= s["submitted"] <= start < end <= r["seconds"] + 0.5
            assert end - start >= 0.3 * 0.9
    # As many as started while the 1.2 s baseline ran (each hold keeps its worker busy).
    first_round = result.details["first_round"]
    assert first_round["cold"] is False
    assert 1 <= first_round["workers_started_before"] <= 4
    assert "workers started during the sequential run" in rounds[1]["note"]
    assert len(retrieve.plot(result).axes) == 3


def test_retrieve_cold_starts_no_workers_ahead_and_says_so():
    result = runner.invoke(retrieve, ["--items", "2", "--delay", "0.1", "--cold"])
    assert result.ok, result.error
    assert result.details["first_round"] == {"cold": True, "workers_started_before": 0}
    assert any("(cold" in line for line in result.lines)


def test_dependencies_timeline_shows_aggregate_after_every_process():
    result = runner.invoke(dependencies, ["--items", "3", "--delay", "0.2"])
    assert result.ok, result.error
    for label, spans in spans_by_label(result).items():
        if label == "sequential":
            continue
        process = [s for s in spans if s["name"].startswith("process")]
        (aggregate,) = [s for s in spans if s["name"] == "aggregate"]
        assert len(process) == 3
        assert aggregate["ran"][0] >= max(s["ran"][1] for s in process)
