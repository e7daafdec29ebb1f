"""Ray Tune + Lightning workload: real Tune runs on a tiny budget (4 samples, max_t 3, 400 rows)."""

from __future__ import annotations

import copy
import csv
import json
import math
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import ray
from ray import tune

from jobs.runtime import command, ray_internals, runner
from jobs.runtime.errors import UsageError
from jobs.tune import curves, data, results, search
from jobs.tune import workload as tune_job
from tests.support import REPO_ROOT, assert_terminated_cleanly
from tests.workloads.tune_probe import SEED, TINY


@pytest.fixture(scope="module")
def tiny_run(ray_session, tmp_path_factory):
    """One real Tune run. Trials run one at a time, so ASHA sees them in a fixed
    order and, training being seeded, its decisions are the same on every run."""
    tmp = tmp_path_factory.mktemp("tune")
    argv = [*TINY, "--max-concurrent-trials", "1", "--storage-path", str(tmp / "storage")]
    result = runner.invoke(tune_job, [*argv, "--out", str(tmp / "bench")])
    assert result.ok, result.error
    return result, tmp


def test_asha_rungs_follow_grace_period_and_reduction_factor():
    assert curves.rungs(1, 2, 10) == [1, 2, 4, 8]
    assert curves.rungs(2, 3, 20) == [2, 6, 18]
    assert curves.rungs(5, 2, 5) == []


@pytest.mark.slow
def test_plot_draws_every_trials_curves_and_marks_the_best(tiny_run):
    result, _ = tiny_run
    loss_ax, acc_ax = curves.plot(result).axes
    trials = [t for t in result.details["trials"] if t["history"]]
    for ax, metric in ((loss_ax, "val_loss"), (acc_ax, "val_acc")):
        lines = [
            ln for ln in ax.get_lines() if ln.get_linestyle() == "-" and len(ln.get_xdata()) >= 1
        ]
        drawn = sorted(tuple(ln.get_ydata()) for ln in lines if ln.get_marker() in ("None", ""))
        assert drawn == sorted(tuple(h[metric] for h in t["history"]) for t in trials)
        crosses = [ln for ln in ax.get_lines() if ln.get_marker() == "x"]
        assert len(crosses) == sum(t["stopped_early"] for t in trials)
        (star,) = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
        assert tuple(star.get_xydata()[0]) == (result.result["epoch"], result.result[metric])


@pytest.mark.slow
def test_best_config_lies_in_the_search_space(tiny_run):
    result, _ = tiny_run
    best = result.result
    assert best["config"]["hidden_size"] in search.HIDDEN_SIZES
    low, high = search.LEARNING_RATE_RANGE
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
    # Every trial keeps Tune's CSV and JSON history; TensorBoard's files are off
    # by default, since their logger would import torch into the driver.
    trial_dirs = [d for d in experiment.iterdir() if d.is_dir()]
    assert len(trial_dirs) == len(rows)
    for trial_dir in trial_dirs:
        assert (trial_dir / "progress.csv").is_file() and (trial_dir / "result.json").is_file()
        assert not list(trial_dir.glob("events.out.tfevents*"))
    assert (tmp / "bench" / "tune.json").exists() and (tmp / "bench" / "tune.png").exists()
    # The best checkpoint holds the weights that scored the reported validation
    # loss, and the hyperparameters to rebuild the model from.
    # Imported here: torch and Lightning take seconds, which only this test needs.
    import torch

    from jobs.tune import model

    saved = torch.load(Path(result.result["checkpoint"]) / model.CHECKPOINT_FILE)
    mlp = model.MLP(**saved["hparams"])
    mlp.load_state_dict(saved["state_dict"])
    split = data.make_data(data.DataSpec(samples=400, seed=SEED))
    with torch.no_grad():
        logits = mlp.eval()(torch.from_numpy(split.x_val))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(split.y_val)).item()
    assert loss == pytest.approx(result.result["val_loss"], rel=1e-4)


def trial_traces(job_id: str | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """The states of the trial workers (of one job, or of all) and of the trial
    reservations the GCS still lists, by id."""
    actors = {
        actor_id: a["State"] for actor_id, a in ray_internals.actors().items()
        if a["ActorClassName"] == "ImplicitFunc" and job_id in (None, a["JobID"])
    }  # fmt: skip
    groups = {
        group_id: g["state"] for group_id, g in ray.util.placement_group_table().items()
        if g["strategy"] == "SPREAD"
    }  # fmt: skip
    return actors, groups


def named(item: str, ids: set[str] | None) -> bool:
    return ids is None or item in ids


def wait_until_released(
    job_id: str | None = None,
    actor_ids: set[str] | None = None,
    group_ids: set[str] | None = None,
    timeout_s: float = 60,
) -> None:
    """Wait until no trial worker is alive and no trial reservation kept (of one
    job, or those named); fail naming what is still held."""
    deadline = time.monotonic() + timeout_s
    while True:
        actors, groups = trial_traces(job_id)
        held = [s for i, s in actors.items() if s != "DEAD" and named(i, actor_ids)]
        held += [s for i, s in groups.items() if s != "REMOVED" and named(i, group_ids)]
        if not held:
            return
        # Tune has asked for all of them to go when fit returns; on a busy machine
        # the GCS may record the last of them a little later.
        assert time.monotonic() < deadline, f"still held {timeout_s:.0f} s after the run: {held}"
        time.sleep(0.5)


@pytest.mark.slow
def test_trial_workers_and_reservations_are_released(tiny_run):
    """Each trial named its worker and reservation while it ran; once fit has
    returned, none of them is still held (dead or removed, or already dropped
    from the GCS, which forgets them in time: neither is held then)."""
    result, _ = tiny_run
    trials = [t for t in result.details["trials"] if t["epochs"]]
    assert len(trials) == 4
    # Tune may reuse a worker and its reservation for the next trial (reuse_actors).
    actor_ids = {t["actor_id"] for t in trials}
    group_ids = {t["placement_group_id"] for t in trials}
    assert None not in actor_ids, "a trial named no worker"
    assert None not in group_ids, "a trial named no reservation"
    wait_until_released(actor_ids=actor_ids, group_ids=group_ids)


@pytest.mark.slow
def test_same_seed_gives_same_data_and_configs(tiny_run):
    result, _ = tiny_run
    ran = [t["config"] for t in result.details["trials"]]  # in trial (sampling) order
    assert ran == search.sample_configs(4, SEED)
    assert search.sample_configs(4, SEED) != search.sample_configs(4, SEED + 1)
    a, b = data.make_data(data.DataSpec(seed=SEED)), data.make_data(data.DataSpec(seed=SEED))
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_val, b.y_val)
    c = data.make_data(data.DataSpec(seed=SEED + 1))
    assert not np.array_equal(a.x_train, c.x_train)


@pytest.mark.slow
def test_ok_is_what_the_checks_find(tiny_run):
    """The checks behind ``ok``, on the real run's table and best, and on copies of
    them with one thing wrong."""
    result, _ = tiny_run
    rows, best = result.details["trials"], result.result
    assert result.ok and results.problems(rows, best) == [] == result.details["problems"]

    no_epochs = copy.deepcopy(rows)
    no_epochs[0].update(epochs=0, history=[])
    assert results.problems(no_epochs, None)[-1].startswith("no best config")
    assert f"trial {rows[0]['trial_id']} reported no epoch" in results.problems(no_epochs, None)

    failed = copy.deepcopy(rows)
    failed[1]["error"] = "ValueError: bad"
    assert results.problems(failed, best) == [
        f"trial {rows[1]['trial_id']} failed: ValueError: bad"
    ]

    # A best that is not the lowest validation loss of any epoch (e.g. picked on
    # training loss, as the tutorial does), and one the table does not show.
    worst = max((h for r in rows for h in r["history"]), key=lambda h: h["val_loss"])
    not_lowest = {**best, "val_loss": worst["val_loss"]}
    assert any("not the lowest validation loss" in p for p in results.problems(rows, not_lowest))
    other = next(r for r in rows if r["trial_id"] != best["trial_id"])
    elsewhere = {**best, "config": other["config"]}
    assert any("does not match" in p for p in results.problems(rows, elsewhere))
    assert results.problems([], None)[0] == "no trial ran"


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
    assert tune_job.main(argv) == command.EXIT_USAGE
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--grace-period", "5", "--max-epochs", "2"], "--grace-period (5) cannot exceed"),
        (["--informative", "30", "--features", "20"], "--informative (30) cannot exceed"),
        (["--classes", "9", "--informative", "3"], "--classes 9 needs --informative >= 4"),
        (["--samples", "4", "--classes", "3"], "--samples 4 is too few"),
    ],
)
def test_impossible_settings_fail_before_ray(argv, message, capsys):
    """Found by preflight, which the runner calls before it connects to Ray."""
    args = runner.build_parser(tune_job).parse_args(argv)
    with pytest.raises(UsageError, match=re.escape(message)):
        runner.preflight(tune_job, args)
    assert tune_job.main(argv) == command.EXIT_USAGE
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {message}")


def test_preflight_returns_what_it_settled(tmp_path):
    argv = ["--samples", "600", "--seed", "3", "--storage-path", str(tmp_path), "--name", "x"]
    args = runner.build_parser(tune_job).parse_args(argv)
    plan = runner.preflight(tune_job, args)
    assert plan.data == data.DataSpec(samples=600, seed=3)
    assert (plan.storage_path, plan.name) == (str(tmp_path), "x")
    split = plan.split.result(timeout=60)  # made in a thread while Ray starts
    assert len(split.y_train) + len(split.y_val) == 600
    assert not hasattr(args, "data") and not hasattr(args, "spec")  # nothing written onto the flags


@pytest.mark.parametrize(
    "argv",
    [["--cpus-per-trial", "64"], ["--gpus-per-trial", "1"]],  # the test Ray has no GPU
)
def test_trials_bigger_than_the_local_ray_exit_2(ray_session, argv, capsys):
    assert tune_job.main(argv) == command.EXIT_USAGE
    assert "error:" in capsys.readouterr().err


def test_cli_bad_flag_is_one_line(cli):
    proc = cli("run", "tune", "--num-samples", "0")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1


def test_the_driver_never_imports_torch_or_lightning():
    """Only trial workers train: the driver (and `ray101 run tune --help`) starts
    without the seconds that importing torch and Lightning takes."""
    probe = "import sys, jobs.cli, jobs.tune.workload; print(*sorted(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "jobs.tune.search" in loaded
    assert not {"torch", "pytorch_lightning", "lightning", "jobs.tune.model"} & set(loaded)


def test_storage_path_from_flag_env_or_default(monkeypatch, tmp_path):
    monkeypatch.delenv(search.STORAGE_ENV, raising=False)
    assert search.resolve_storage(None) == str(search.DEFAULT_STORAGE.resolve())
    monkeypatch.setenv(search.STORAGE_ENV, "s3://ray101-tune/runs")
    assert search.resolve_storage(None) == "s3://ray101-tune/runs"
    assert search.resolve_storage(str(tmp_path)) == str(tmp_path)


@pytest.mark.slow
def test_trials_spread_over_nodes_of_a_cluster(ray101_cluster, tmp_path):
    """The session's cluster, two 2-CPU workers: two trial reservations land on both."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.workloads.tune_probe", ray101_cluster.address, str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    probe, job = (json.loads(line) for line in proc.stdout.strip().splitlines())
    assert probe["reservation_nodes"] == 2
    assert job["ok"]
    assert job["details"]["total_epochs"] < job["details"]["budget_epochs"] == 12
    assert Path(job["details"]["results_files"][0]).exists()


@pytest.mark.slow
def test_a_run_where_no_trial_reports_is_not_ok(cli, tmp_path):
    """Every trial fails before its first epoch (Lightning reads Trainer defaults
    from PL_TRAINER_* variables, and the trial workers inherit this one): Tune
    finishes, and the run reports ok false, naming each trial, exit 1."""
    proc = cli(
        "run", "tune", "--json", "--num-samples", "2", "--max-epochs", "2", "--samples", "400",
        "--num-cpus", "2", "--storage-path", str(tmp_path),
        env={"PL_TRAINER_PRECISION": "no-such-precision"}, timeout=300,
    )  # fmt: skip
    assert proc.returncode == command.EXIT_FAILED, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["ok"] is False and out["result"] is None
    assert set(out["details"]["epochs_per_trial"].values()) == {0}
    for trial_id in out["details"]["epochs_per_trial"]:
        assert f"trial {trial_id} failed: ValueError: Precision 'no-such-precision'" in out["error"]
    assert "no best config" in out["error"]


def trial_statuses(storage: Path) -> list[str]:
    """Every trial's status in the experiment state Tune last saved under ``storage``."""
    (experiment,) = (p for p in storage.iterdir() if p.is_dir())
    return [t.status for t in tune.ExperimentAnalysis(str(experiment)).trials]


@pytest.mark.slow
def test_sigterm_mid_search_stops_the_trials_and_exits_143(ray_session, tmp_path):
    """`ray job stop` or a pod's deletion sends SIGTERM to the driver mid-search: Tune
    stops every trial and saves its state, the job ends with one line and 143."""
    storage = tmp_path / "storage"
    # A search far longer than the test: it is still training when the signal comes.
    argv = ["--num-samples", "2", "--max-epochs", "500", "--grace-period", "500"]
    argv += ["--samples", "2000", "--storage-path", str(storage)]
    # It joins this module's Ray, so its trial workers can be looked at after it ended.
    address = ray.get_runtime_context().gcs_address
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobs.tune", *argv, "--address", address],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while not any(p.stat().st_size for p in storage.glob("*/*/result.json")):
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "no trial reported an epoch within 240 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        _, stderr = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert_terminated_cleanly(proc.returncode, took, stderr, within_s=30)
    assert "SIGTERM received" not in stderr, stderr[-3000:]
    # Stopped by Tune, not left running: every trial ended and the state says so.
    statuses = trial_statuses(storage)
    assert len(statuses) == 2 and set(statuses) == {"TERMINATED"}, statuses
    # Its trial workers, the only ones of a job other than this module's own.
    # (Its job ended seconds ago; the GCS keeps a finished job's actors for minutes.)
    own = ray.get_runtime_context().get_job_id()
    actors = ray_internals.actors().values()
    (job_id,) = {a["JobID"] for a in actors if a["ActorClassName"] == "ImplicitFunc"} - {own}
    wait_until_released(job_id=job_id)
