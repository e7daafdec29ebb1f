"""scripts/bench/report.py on tiny synthetic results: every figure beside the tutorial's,
its command and plot, goals judged from the numbers, absent figures said so; and the
committed docs/benchmarks.md is what the generator makes of the JSON beside it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

spec = importlib.util.spec_from_file_location("bench_report", REPO_ROOT / "scripts/bench/report.py")
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)

ENV = {"cpus": 2, "machine": "x86_64", "memory_gib": 7.8, "python": "3.11.9", "ray": "2.60.0",
       "torch": "2.13.0", "load_average_1m": 3.5}  # fmt: skip


def core_result(first_s: float, cold: bool) -> dict:
    return {
        "timings": {"sequential_s": 6.01, "first_parallel_s": first_s, "parallel_s": 1.01},
        "details": {"first_round": {"cold": cold, "workers_started_before": 0 if cold else 6}},
        "environment": ENV,
    }


RESULTS = {
    "retrieve.json": core_result(1.12, cold=False),
    "cold/retrieve-cold.json": {
        "runs": {"tutorial_s": [3.2, 3.3, 3.5], "ours_s": [3.4, 3.9, 3.3]},
        "median": {"tutorial_s": 3.3, "ours_s": 3.4},
        "ratio": 3.4 / 3.3,
        "environment": ENV,
    },
    "dependencies.json": core_result(1.05, cold=False),
    "overhead.json": {
        "result": {
            "break_even_ms": {"cpu": 10.0, "io": 1.0},
            "batched_break_even_ms": {"cpu": 0.1, "io": None},
            "per_item_speedup_at_1ms": {"cpu": 0.4, "io": 1.2},
            "batched_speedup_at_1ms": {"cpu": 1.7, "io": 1.9},
        },
        "timings": {
            "sync_tasks_per_s": 450.0,
            "async_tasks_per_s": 1500.0,
            "own_tasks_per_s": 1250.0,
            "own_overhead_ratio": 1.2,
            "own_overhead_ratio_low": 1.05,
            "own_overhead_ratio_high": 1.4,
        },
        "details": {
            "reference": [
                {
                    "source": "ray microbenchmark here",
                    "sync_tasks_per_s": 475.0,
                    "async_tasks_per_s": 1578.0,
                }
            ]
        },
        "environment": ENV,
    },  # fmt: skip
    "loadtest.json": {
        "client": "wrk",
        "connections": 16,
        "summary": {
            "echo": {"rps": 900.0, "p50_ms": 5.0, "p95_ms": 9.0, "p99_ms": 12.5},
            "baseline": {"rps": 2000.0, "p50_ms": 2.0, "p95_ms": 3.0, "p99_ms": 4.0},
        },
        "ratio": 0.45,
        "environment": ENV,
    },
    "tune-compare.json": {
        "tutorial": {"wall_s": 100.0, "process_s": 120.0, "total_epochs": 40, "best_val_acc": 0.8},
        "ours": {
            "wall_s": 18.0,
            "process_s": 30.0,
            "total_epochs": 25,
            "best_val_acc_retrained": 0.85,
        },
        "ratio_wall": 0.18,
        "ratio_process": 0.25,
        "environment": ENV,
    },  # fmt: skip
}
STEPS = {
    "steps": {
        "retrieve": {"command": "ray101 run retrieve --out results/bench/", "status": "ok",
                     "seconds": 40.0},
        "mongo": {"command": "ray101 run mongo --standin --out results/bench/",
                  "status": "timed out", "seconds": 180.0},
    },
    "environment_at_start": ENV,
    "environment_at_end": {**ENV, "load_average_1m": 9.0},
}  # fmt: skip


@pytest.fixture
def published(tmp_path: Path) -> tuple[str, Path]:
    results = tmp_path / "results"
    for rel, data in RESULTS.items():
        (results / rel).parent.mkdir(parents=True, exist_ok=True)
        (results / rel).write_text(json.dumps(data))
    (results / "retrieve.png").write_bytes(b"\x89PNG retrieve")
    (results / STEPS_FILE).write_text(json.dumps(STEPS))
    page = report.publish(results, tmp_path / "docs" / "benchmarks.md")
    return page.read_text(), tmp_path / "docs" / "benchmarks"


STEPS_FILE = report.STEPS_FILE


def headline(page: str, figure: str) -> str:
    (row,) = [line for line in page.splitlines() if line.startswith(f"| {figure} |")]
    return row


def test_page_names_the_machine_and_the_tutorials_figures(published):
    page, _ = published
    assert "2 cores (x86_64), 7.8 GiB memory; Python 3.11.9, Ray 2.60.0, torch 2.13.0" in page
    assert "3.5 when the run started, 9.0 when it ended" in page
    for tutorial in ("1.02 s", "1.03 s", "0.77 s", "1.44 s", "6.00 s"):
        assert tutorial in page
    assert "`ray101 run retrieve --out results/bench/` (ok, 40.0 s)" in page


def test_goals_are_judged_from_the_numbers(published):
    page, _ = published
    assert headline(page, "retrieve: first parallel round").endswith("| 1.12 s | ≤ 1.5 s | met |")
    assert "45.0%" in headline(page, "echo: throughput of bare ASGI")
    assert headline(page, "echo: throughput of bare ASGI").endswith("**missed** |")
    assert headline(page, "echo: p99 latency").endswith("**missed** |")
    assert headline(page, "tune: tuning wall, ours / tutorial's").endswith(
        "| 0.18× | ≤ 0.2× | met |"
    )
    assert headline(page, "tune: best config's accuracy").endswith("| met |")
    assert headline(page, "overhead: batched, CPU-bound 1 ms items").endswith(
        "| 1.70× | ≥ 1.6× | met |"
    )
    # The median of the window pairs' ratios, 1.2, is above 1.1; the range beside it.
    own = headline(
        page,
        "overhead: ray101's task overhead over a bare task's with the same arguments "
        "(rate ratio, median of window pairs)",
    )
    assert own.endswith("| 1.20× (1.05× to 1.40×) | ≤ 1.1× | **missed** |")
    assert "| io | 1 ms | never (in the durations measured) | 1.20× | 1.90× |" in page
    assert "For reference, ray microbenchmark here: 475 sync, 1,578 async tasks/s." in page


def test_plots_and_json_are_kept_beside_the_page(published):
    page, assets = published
    assert (assets / "retrieve.png").read_bytes() == b"\x89PNG retrieve"
    assert "![retrieve: 6 retrievals" in page and "(benchmarks/retrieve.png)" in page
    assert "benchmarks/dependencies.png" not in page  # no plot was written for it
    assert json.loads((assets / "retrieve-cold.json").read_text())["median"]["ours_s"] == 3.4
    assert (
        "| parallel, first round, cold (`--cold`; the tutorial's code run here; medians of 3) "
        "| 3.30 s | 3.40 s |" in page
    )
    # ray101's cold round over the tutorial's, 3.4 / 3.3: above the goal of 1.
    cold = headline(page, "retrieve: first round, cold, ours / the tutorial's (medians)")
    assert cold.endswith("| 3.30 s | 1.03× | ≤ 1× | **missed** |")


def test_a_figure_not_measured_says_why(published):
    page, _ = published
    assert "Not measured in this run (timed out)." in page
    assert "Not measured in this run (not run)." in page  # the Tune plot: no step, no JSON


def test_the_committed_page_is_generated_from_the_json_beside_it():
    assets = REPO_ROOT / "docs" / "benchmarks"
    committed = REPO_ROOT / "docs" / "benchmarks.md"
    assert committed.is_file() and assets.is_dir(), "run make bench and commit docs/benchmarks*"
    assert report.render_from_assets(assets) == committed.read_text(), (
        "docs/benchmarks.md is stale: run scripts/bench/report.py (make bench regenerates it)"
    )


def test_the_cold_round_is_judged_on_the_medians_of_the_same_session():
    import retrieve_cold  # scripts/bench, which report.py put on the path

    found = retrieve_cold.summarise([3.1, 9.0, 3.3], [3.2, 3.0, 3.25])
    assert found["median"] == {"tutorial_s": 3.3, "ours_s": 3.2}
    assert found["met"] is True  # one slow run of the tutorial's decides nothing
    assert retrieve_cold.summarise([3.0] * 3, [3.1] * 3)["met"] is False
