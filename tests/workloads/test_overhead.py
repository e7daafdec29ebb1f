"""The overhead sweep on a real local Ray: result shape, batching, break-even, bad input."""

from __future__ import annotations

import json
import math
import statistics

import pytest

from jobs.overhead import batching, findings, microbenchmark, sweep, work
from jobs.overhead import workload as overhead
from jobs.runtime import command, runner
from jobs.runtime.result import to_json
from tests.support import local_ray

# Two CPUs, as on the development machine: 2 busy-loop tasks or 8 sleeps at once.
NUM_CPUS = 2
SMALL_RUN = (
    "--durations", "0,0.1,1",
    "--items", "200",
    "--budget", "0.05",
    "--rounds", "2",
    "--bench-seconds", "0.2",
    "--bench-windows", "2",
)  # fmt: skip


@pytest.fixture(scope="module")
def two_cpu_ray():
    with local_ray(num_cpus=NUM_CPUS):
        yield


@pytest.fixture(scope="module")
def small_run(two_cpu_ray, tmp_path_factory):
    out = tmp_path_factory.mktemp("overhead")
    return runner.invoke(overhead, [*SMALL_RUN, "--out", str(out)]), out


def cell(result, kind: str, duration_ms: float) -> dict:
    (found,) = (
        c
        for c in result.details["cells"]
        if c["kind"] == kind and math.isclose(c["duration_ms"], duration_ms)
    )
    return found


def test_result_has_break_even_and_the_1ms_figures(small_run):
    result, _ = small_run
    assert result.ok, result.error
    assert set(result.result) == {
        "break_even_ms",
        "batched_break_even_ms",
        "batched_speedup_at_1ms",
        "per_item_speedup_at_1ms",
    }
    for figures in result.result.values():
        assert set(figures) == {"cpu", "io"}
    assert all(s > 0 for s in result.result["batched_speedup_at_1ms"].values())
    assert [(c["kind"], c["duration_ms"]) for c in result.details["cells"]] == [
        (k, d) for k in ("cpu", "io") for d in (0.0, 0.1, 1.0)
    ]
    t = result.timings
    assert t["speedup"] == pytest.approx(t["sequential_s"] / t["parallel_s"])
    assert t["speedup"] == pytest.approx(result.result["batched_speedup_at_1ms"]["cpu"])
    assert t["async_tasks_per_s"] > 0 and t["sync_tasks_per_s"] > 0
    assert t["task_overhead_ms"] == pytest.approx(1e3 / t["async_tasks_per_s"])
    assert result.details["slots"] == {"cpu": NUM_CPUS, "io": NUM_CPUS * 4}
    assert set(result.details["goals"]) == {"batched_cpu_1ms", "own_overhead_within_1_1x"}
    assert t["own_tasks_per_s"] > 0
    # The goal's figure is the median of the window pairs' ratios, inside their range.
    ratios = result.details["microbenchmark"]["own_ratio_per_window"]
    assert len(ratios) == int(SMALL_RUN[SMALL_RUN.index("--bench-windows") + 1])
    assert t["own_overhead_ratio"] == pytest.approx(statistics.median(ratios))
    assert t["own_overhead_ratio_low"] <= t["own_overhead_ratio"] <= t["own_overhead_ratio_high"]
    assert any(
        line.startswith("  ray101's own tasks") and "median" in line for line in result.lines
    )
    assert json.loads(to_json(result))["result"] == json.loads(json.dumps(result.result))
    assert any(line.startswith("Break-even task duration") for line in result.lines)
    assert len(result.details["load_average_1m"]) == 2
    assert result.lines[-2 if result.lines[-1].startswith("Wrote") else -1].startswith("Load")


def test_items_and_chunks_follow_the_budget_and_the_cluster(small_run):
    result, _ = small_run
    slots = result.details["slots"]
    for c in result.details["cells"]:
        if c["duration_ms"] == 0:
            assert c["items"] == 200
        else:  # 50 ms of sequential work, rounded up to whole waves
            wanted = math.ceil(50 / c["duration_ms"])
            assert c["items"] == min(200, math.ceil(wanted / slots[c["kind"]]) * slots[c["kind"]])
        assert c["chunks"] % slots[c["kind"]] == 0 or c["chunks"] == c["items"]
        # sized by the round trip a worker waits between two tasks, not the async rate
        assert c["chunks"] == batching.chunk_count(
            c["items"],
            c["duration_ms"] / 1e3,
            result.timings["task_round_trip_ms"] / 1e3,
            result.details["overhead_ratio"],
            slots[c["kind"]],
        )


def test_out_writes_json_and_png(small_run):
    result, out = small_run
    saved = json.loads((out / "overhead.json").read_text())
    assert saved["name"] == "overhead"
    assert saved["environment"]["ray"]
    assert saved["result"]["break_even_ms"] == pytest.approx(result.result["break_even_ms"])
    png = (out / "overhead.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000


def test_batching_beats_one_task_per_item_for_tiny_cpu_tasks(small_run):
    result, _ = small_run
    # No work at all: 200 tasks against one per CPU, some 30x apart.
    idle = cell(result, "cpu", 0.0)
    assert idle["batched_s"] < 0.5 * idle["per_item_s"], idle
    tiny = cell(result, "cpu", 0.1)
    assert tiny["batched_s"] < tiny["per_item_s"], tiny


@pytest.mark.parametrize("kind", work.KINDS, ids=lambda k: k.name)
def test_every_strategy_returns_the_sequential_values(two_cpu_ray, kind):
    param = kind.param(1e-4, work.spin_rate())
    chunks = batching.plan_chunks(37, 5)
    expected = sweep.run_sequential(kind, param, 37)
    assert len(set(expected)) == 37  # every item has its own answer
    assert sweep.run_per_item(kind, param, 37) == expected
    assert sweep.run_batched(kind, param, chunks) == expected


@pytest.mark.parametrize(("items", "count"), [(1000, 126), (37, 5), (8, 8), (3, 1), (0, 0)])
def test_chunks_cover_every_item_exactly_once(items, count):
    chunks = batching.plan_chunks(items, count)
    assert len(chunks) == count
    assert [i for c in chunks for i in c] == list(range(items))
    sizes = {len(c) for c in chunks}
    assert not sizes or max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize(
    ("items", "duration_s", "slots", "expected"),
    [
        (1000, 0.0, 2, 2),  # no work: one chunk per slot
        (1000, 1e-3, 2, 126),  # 8 ms chunks: 125, rounded up to whole waves
        (1000, 1e-3, 8, 128),
        (10, 0.1, 2, 10),  # long items: one per task
        (3, 1e-3, 8, 3),  # fewer items than slots
    ],
)
def test_chunk_count_amortises_the_overhead_in_whole_waves(items, duration_s, slots, expected):
    count = batching.chunk_count(items, duration_s, overhead_s=0.4e-3, ratio=20, slots=slots)
    assert count == expected


def test_cell_items_cap_long_tasks_at_the_budget_in_whole_waves():
    assert sweep.cell_items(0.0, 1000, 1.0, 2) == 1000
    assert sweep.cell_items(1e-3, 1000, 1.0, 2) == 1000
    assert sweep.cell_items(10e-3, 1000, 1.0, 8) == 104
    assert sweep.cell_items(0.1, 1000, 1.0, 8) == 16
    assert sweep.cell_items(0.1, 5, 1.0, 8) == 5


# Where log(speedup) goes from log(0.9) to log(3.0) crosses 0, in decades past 1 ms.
DIP_CROSSING = -math.log(0.9) / (math.log(3.0) - math.log(0.9))


@pytest.mark.parametrize(
    ("durations", "speedups", "expected"),
    [
        # crosses halfway (in log speedup) between 1 ms and 10 ms: 10**-2.5 s
        ([0, 1e-4, 1e-3, 1e-2], [0.01, 0.1, 0.5, 2.0], 10**-2.5),
        ([1e-2, 1e-3, 0, 1e-4], [2.0, 0.5, 0.01, 0.1], 10**-2.5),  # any order
        ([0, 1e-4], [0.5, 2.0], 0.5e-4),  # from 0: linear in duration
        ([0, 1e-3, 1e-2], [1.2, 3.0, 4.0], 0.0),  # Ray never slower
        ([0, 1e-3, 1e-2], [0.1, 0.5, 0.9], None),  # never catches up
        # a dip after a first crossing: the last crossing counts
        ([1e-4, 1e-3, 1e-2], [1.2, 0.9, 3.0], 10 ** (-3 + DIP_CROSSING)),
    ],
)  # fmt: skip
def test_break_even_interpolates_on_log_scale(durations, speedups, expected):
    got = sweep.break_even(durations, speedups)
    assert got == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    "argv",
    [
        ["--items", "0"],
        ["--durations", "1,x"],
        ["--durations", "5"],
        ["--durations", "-1,1"],
        ["--rounds", "11"],
        ["--budget", "nan"],
        ["--bench-windows", "0"],
        ["--bench-windows", "51"],
    ],
)
def test_bad_input_exits_2_with_one_line(argv, capsys):
    assert overhead.main(argv) == command.EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ray101 run overhead:"), err


def test_cli_rejects_bad_durations(cli):
    proc = cli("run", "overhead", "--durations", "0,fast", timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: ray101 run overhead: argument --durations: "
        "'0,fast' is not a comma-separated list of milliseconds"
    ]


def test_the_own_overhead_goal_is_the_median_of_window_pairs():
    """One window pair hit by a passing load moves the mean past the goal but
    not the median: the goal judges the typical pair."""
    rate = microbenchmark.Rate
    sync, ray_async = rate(500.0, 0.0), rate(1500.0, 0.0)  # no-argument tasks: not the yardstick
    bare = rate(1000.0, 0.0, (1000.0, 1000.0, 1000.0, 1000.0, 1000.0))
    own = rate(866.0, 0.0, (1000.0, 950.0, 400.0, 1000.0, 980.0))
    found = findings.summarise([], microbenchmark.TaskOverhead(sync, ray_async, own, bare))
    assert found.own_ratio.median == pytest.approx(1000 / 980)
    assert (found.own_ratio.low, found.own_ratio.high, found.own_ratio.count) == (1.0, 2.5, 5)
    assert found.goals == {findings.GOAL_OWN: True}
    slow = microbenchmark.TaskOverhead(sync, ray_async, rate(0.0, 0.0, (800.0,) * 5), bare)
    assert findings.summarise([], slow).goals == {findings.GOAL_OWN: False}
