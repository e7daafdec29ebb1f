"""The ``tune`` workload: flags, the checks that need no Ray, the run, the report."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from jobs.runtime import flags, runner
from jobs.runtime.errors import UsageError
from jobs.runtime.result import JobResult
from jobs.tune import results
from jobs.tune.curves import plot  # noqa: F401  (the workload's interface)
from jobs.tune.data import DataSpec, Split, make_data
from jobs.tune.search import (
    DEFAULT_STORAGE,
    STORAGE_ENV,
    build_tuner,
    check_resources,
    resolve_storage,
)
from jobs.tune.stopping import StopOnSignal, stop_trials_on_signal

NAME = "tune"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """What :func:`preflight` settled before Ray starts, and the data it started making."""

    data: DataSpec
    storage_path: str
    name: str
    split: Future[Split]


def make_data_while_ray_starts(spec: DataSpec) -> Future[Split]:
    """The data, made in a thread: importing sklearn and making it take about a
    second, which overlaps Ray's start, since that mostly waits on its own
    processes. Saved about 1 s of a 17 s run on 2 CPUs (docs/tune.md)."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tune-data")
    try:
        return executor.submit(make_data, spec)
    finally:
        executor.shutdown(wait=False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pint = flags.positive_int
    data = parser.add_argument_group("data (sklearn make_classification)")
    data.add_argument("--samples", type=pint, default=1000, help="rows (default 1000)")
    data.add_argument("--features", type=pint, default=20, help="features (default 20)")
    data.add_argument(
        "--informative", type=pint, default=10, help="informative features (default 10)"
    )
    data.add_argument("--classes", type=pint, default=2, help="classes (default 2)")
    data.add_argument(
        "--seed",
        type=flags.non_negative_int,
        default=42,
        help="seeds data, split, sampled configs, weights (default 42)",
    )
    search = parser.add_argument_group("search (ASHA)")
    search.add_argument("--num-samples", type=pint, default=10, help="configs to try (default 10)")
    search.add_argument(
        "--max-epochs",
        type=pint,
        default=10,
        help="epochs per trial at most, ASHA's max_t (default 10)",
    )
    search.add_argument(
        "--grace-period",
        type=pint,
        default=1,
        help="epochs before ASHA may stop a trial (default 1)",
    )
    search.add_argument(
        "--reduction-factor",
        type=flags.above_one,
        default=2.0,
        help="ASHA keeps 1/this of the trials at each rung (default 2)",
    )
    search.add_argument(
        "--batch-size", type=pint, default=32, help="training batch size (default 32)"
    )
    search.add_argument(
        "--keep-checkpoints",
        type=pint,
        default=2,
        help="best checkpoints kept per trial (default 2)",
    )
    res = parser.add_argument_group("resources and storage")
    res.add_argument(
        "--cpus-per-trial",
        type=flags.positive_float,
        default=1.0,
        help="CPUs per trial (default 1)",
    )
    res.add_argument(
        "--gpus-per-trial",
        type=flags.non_negative_float,
        default=0.0,
        help="GPUs per trial; a trial with a GPU trains on cuda (default 0)",
    )
    res.add_argument(
        "--max-concurrent-trials",
        type=flags.non_negative_int,
        default=0,
        help="trials running at once; 0: as many as the resources fit (default 0)",
    )
    res.add_argument(
        "--storage-path",
        default=None,
        help=f"where trials, checkpoints and results go: a directory (shared by every node "
        f"of a multi-node cluster) or s3://bucket/prefix (default: ${STORAGE_ENV}, "
        f"else {DEFAULT_STORAGE}/)",
    )
    res.add_argument("--name", default=None, help="experiment name (default: tune-<time>-<id>)")


def preflight(args: argparse.Namespace) -> Plan:
    """The user's mistakes that need no Ray: the data's shape and ASHA's rungs;
    then the data starts being made, while the runner starts Ray."""
    spec = DataSpec(args.samples, args.features, args.informative, args.classes, args.seed)
    spec.check()
    if args.grace_period > args.max_epochs:
        raise UsageError(
            f"--grace-period ({args.grace_period}) cannot exceed --max-epochs ({args.max_epochs})"
        )
    name = args.name or f"tune-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    storage_path = resolve_storage(args.storage_path)
    return Plan(spec, storage_path, name, make_data_while_ray_starts(spec))


def run(args: argparse.Namespace, ctx: runner.Context) -> JobResult:
    start = time.perf_counter()
    plan: Plan = ctx.checked
    check_resources(args, ctx.connection)
    split = plan.split.result()
    stopper = StopOnSignal()
    tuner = build_tuner(args, split, plan.storage_path, plan.name, stop=stopper)
    log.info("experiment %s under %s", plan.name, plan.storage_path)
    # Tune snapshots its experiment state each time a trial has saved
    # num_to_keep checkpoints, and warns when that happens often. Here it does by
    # design (a few-KB checkpoint every epoch) and a snapshot is a small file.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    # Tune adds a TensorBoard logger unless this is set, and its tensorboardX
    # imports torch into this driver, which trains nothing: 1.8 s of every run
    # (docs/tune.md). TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=0 brings it back.
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    # Under Ray Client the Tuner runs on the cluster, with its own copy of the stopper.
    stopping = contextlib.nullcontext() if ctx.connection.client else stop_trials_on_signal(stopper)
    fit_start = time.perf_counter()
    # Tune prints its progress (and, whatever the verbosity, an experiment
    # header) to stdout; stdout belongs to the report and to --json.
    with stopping, contextlib.redirect_stdout(sys.stderr):
        result_grid = tuner.fit()
    fit_s = time.perf_counter() - fit_start

    rows = results.trial_rows(result_grid, args.max_epochs)
    best = results.tune_best(result_grid)
    found = results.problems(rows, best)
    total = sum(r["epochs"] for r in rows)
    summary = {
        "best": best,
        "total_epochs": total,
        "budget_epochs": args.num_samples * args.max_epochs,
        "num_samples": args.num_samples,
        "max_t": args.max_epochs,
        "grace_period": args.grace_period,
        "reduction_factor": args.reduction_factor,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "data": {
            "samples": plan.data.samples,
            "features": plan.data.features,
            "informative": plan.data.informative,
            "classes": plan.data.classes,
            "train_rows": len(split.y_train),
            "val_rows": len(split.y_val),
        },
        "experiment_path": results.as_uri(result_grid.filesystem, result_grid.experiment_path),
        "trials": rows,
        "problems": found,
    }
    fs, path = result_grid.filesystem, result_grid.experiment_path
    files = results.write_results(fs, path, summary, rows)
    wall_s = time.perf_counter() - start
    details = {
        **{k: v for k, v in summary.items() if k != "best"},
        "epochs_per_trial": {r["trial_id"]: r["epochs"] for r in rows},
        "stopped_early": sum(r["stopped_early"] for r in rows),
        "nodes": len({r["node_id"] for r in rows if r["node_id"]}),
        "accelerators": sorted({r["accelerator"] for r in rows}),
        "results_files": files,
    }
    return JobResult(
        name=NAME,
        ok=not found,
        result=best,
        timings={"wall_s": wall_s, "fit_s": fit_s},
        details=details,
        lines=results.format_report(summary, rows, wall_s),
        error="; ".join(found) or None,
    )


def main(argv=None) -> int:
    return runner.main_for(sys.modules[__name__], argv)
