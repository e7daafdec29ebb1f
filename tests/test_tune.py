"""Ray Tune + Lightning workload: real Tune runs on a tiny budget (4 samples, max_t 3, 400 rows)."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import ray
import torch
from ray.cluster_utils import Cluster

from jobs import _compat, command, runner
from jobs import tune_lightning as tl
from tests.conftest import REPO_ROOT

SEED = 7
TINY = ["--num-samples", "4", "--max-epochs", "3", "--samples", "400", "--seed", str(SEED)]
TINY += ["--grace-period", "1", "--reduction-factor", "2"]


@pytest.fixture(scope="module")
def tiny_run(ray_session, tmp_path_factory):
    """One real Tune run. Trials run one at a time, so ASHA sees them in a fixed
    order and, training being seeded, its decisions are the same on every run."""
    tmp = tmp_path_factory.mktemp("tune")
    argv = [*TINY, "--max-concurrent-trials", "1", "--storage-path", str(tmp / "storage")]
    result = runner.invoke(tl, [*argv, "--out", str(tmp / "bench")])
    assert result.ok, result.error
    return result, tmp


@pytest.mark.slow
def test_best_config_lies_in_the_search_space(tiny_run):
    result, _ = tiny_run
    best = result.result
    assert best["config"]["hidden_size"] in tl.HIDDEN_SIZES
    low, high = tl.LEARNING_RATE_RANGE
    assert low <= best["config"]["learning_rate"] <= high
    assert 0.0 <= best["val_acc"] <= 1.0
    # Chosen on validation loss: no epoch of any trial did better.
    every_epoch = [h["val_loss"] for t in result.details["trials"] for h in t["history"]]
    assert best["val_loss"] == min(every_epoch)


@pytest.mark.slow
def test_every_trial_reports_every_epoch(tiny_run):
    result, _ = tiny_run
    trials = result.details["trials"]
    assert len(trials) == 4
    for trial in trials:
        epochs = [h["epoch"] for h in trial["history"]]
        assert epochs == list(range(1, trial["epochs"] + 1))
        assert 1 <= trial["epochs"] <= 3
        assert all(math.isfinite(h["val_loss"]) for h in trial["history"])
    assert result.details["epochs_per_trial"] == {t["trial_id"]: t["epochs"] for t in trials}


@pytest.mark.slow
def test_asha_stops_trials_that_fall_behind(tiny_run):
    result, _ = tiny_run
    trials = result.details["trials"]
    rates = [t["config"]["learning_rate"] for t in trials]
    assert max(rates) / min(rates) > 3, "seed should give clearly different configs"
    stopped = [t for t in trials if t["stopped_early"]]
    assert stopped, "ASHA stopped no trial before max_t"
    assert result.details["total_epochs"] < result.details["budget_epochs"] == 4 * 3
    assert result.details["total_epochs"] == sum(t["epochs"] for t in trials)
    # ASHA stops a trial at a rung only when another trial did better at that epoch.
    for trial in stopped:
        epoch = trial["epochs"]
        loss = trial["history"][-1]["val_loss"]
        others = [t["history"][epoch - 1]["val_loss"] for t in trials if t["epochs"] >= epoch]
        assert min(others) < loss


@pytest.mark.slow
def test_results_and_checkpoints_are_written(tiny_run):
    result, tmp = tiny_run
    experiment = Path(result.details["experiment_path"])
    assert experiment.parent == tmp / "storage"
    summary = json.loads((experiment / "results.json").read_text())
    assert summary["best"] == result.result
    with open(experiment / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["trial_id"] for r in rows) == sorted(result.details["epochs_per_trial"])
    assert (tmp / "bench" / "tune.json").exists() and (tmp / "bench" / "tune.png").exists()
    # The best checkpoint holds the weights that scored the reported validation loss.
    model = tl.load_model(result.result["checkpoint"])
    split = tl.make_data(tl.DataSpec(samples=400, seed=SEED))
    with torch.no_grad():
        loss = torch.nn.functional.cross_entropy(model(split.x_val), split.y_val).item()
    assert loss == pytest.approx(result.result["val_loss"], rel=1e-4)


@pytest.mark.slow
def test_trial_workers_and_reservations_are_released(tiny_run):
    trial_actors = [a for a in _compat.actors().values() if a["ActorClassName"] == "ImplicitFunc"]
    assert trial_actors and all(a["State"] == "DEAD" for a in trial_actors)
    spread = [g for g in ray.util.placement_group_table().values() if g["strategy"] == "SPREAD"]
    assert spread and all(g["state"] == "REMOVED" for g in spread)


@pytest.mark.slow
def test_same_seed_gives_same_data_and_configs(tiny_run):
    result, _ = tiny_run
    ran = [t["config"] for t in result.details["trials"]]  # in trial (sampling) order
    assert ran == tl.sample_configs(4, SEED)
    assert tl.sample_configs(4, SEED) != tl.sample_configs(4, SEED + 1)
    a, b = tl.make_data(tl.DataSpec(seed=SEED)), tl.make_data(tl.DataSpec(seed=SEED))
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)
    c = tl.make_data(tl.DataSpec(seed=SEED + 1))
    assert not torch.equal(a.x_train, c.x_train)


@pytest.mark.parametrize(
    "argv",
    [
        ["--num-samples", "0"],
        ["--max-epochs", "-1"],
        ["--reduction-factor", "1"],
        ["--cpus-per-trial", "0"],
        ["--gpus-per-trial", "-1"],
        ["--batch-size", "x"],
    ],
)
def test_bad_flags_exit_2(argv, capsys):
    assert tl.main(argv) == command.EXIT_USAGE
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["--grace-period", "5", "--max-epochs", "2"],
        ["--informative", "30", "--features", "20"],
        ["--cpus-per-trial", "64"],
        ["--gpus-per-trial", "1"],  # the test Ray has no GPU
    ],
)
def test_impossible_settings_exit_2(ray_session, argv, capsys):
    assert tl.main(argv) == command.EXIT_USAGE
    assert "error:" in capsys.readouterr().err


def test_cli_bad_flag_is_one_line(cli):
    proc = cli("run", "tune", "--num-samples", "0")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1


def test_storage_path_from_flag_env_or_default(monkeypatch, tmp_path):
    monkeypatch.delenv(tl.STORAGE_ENV, raising=False)
    assert tl.resolve_storage(None) == str(tl.DEFAULT_STORAGE.resolve())
    monkeypatch.setenv(tl.STORAGE_ENV, "s3://ray101-tune/runs")
    assert tl.resolve_storage(None) == "s3://ray101-tune/runs"
    assert tl.resolve_storage(str(tmp_path)) == str(tmp_path)


def multi_node_probe() -> None:
    """Run in a fresh process (the test session may hold its own Ray): a two-node
    local cluster, two trial reservations made as Tune makes them, then the
    job's --json run on that cluster."""
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False}
    )
    try:
        cluster.add_node(num_cpus=2)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False, logging_level="WARNING")
        groups = [tl.trial_resources(1, 0).to_placement_group() for _ in range(2)]
        ray.get([g.ready() for g in groups], timeout=60)
        nodes = {ray.util.placement_group_table(g)["bundles_to_node_id"][0] for g in groups}
        for g in groups:
            ray.util.remove_placement_group(g)
        print(json.dumps({"reservation_nodes": len(nodes)}), flush=True)
        # The job reuses this connection, as `ray101 run all` does.
        argv = ["--json", *TINY, "--max-concurrent-trials", "1", "--storage-path", sys.argv[1]]
        code = tl.main(argv)
    finally:
        ray.shutdown()
        cluster.shutdown()
    raise SystemExit(code)


@pytest.mark.slow
def test_trials_spread_over_nodes_of_a_cluster(tmp_path):
    """Two nodes with room for two trials each: two trial reservations land on both."""
    proc = subprocess.run(
        [sys.executable, "-c", "from tests.test_tune import multi_node_probe; multi_node_probe()",
         str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    probe, job = (json.loads(line) for line in proc.stdout.strip().splitlines())
    assert probe["reservation_nodes"] == 2
    assert job["ok"]
    assert job["details"]["total_epochs"] < job["details"]["budget_epochs"] == 12
    assert Path(job["details"]["results_files"][0]).exists()
