"""What a Tune run found: one row per trial, Tune's best, the checks on both, the report.

The trial table is read from every trial's reported epochs; the best comes
from Tune itself (``ResultGrid.get_best_result`` over every epoch, and that
trial's best kept checkpoint). :func:`problems` checks the two against each
other, so ``ok`` says the search did what it promises.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from ray import tune

from jobs.tune.search import METRIC, MODE, SEARCH_SPACE

# What the best epoch is judged and reported on: validation, never training, metrics.
# METRIC is the first of them, minimised.
VALIDATION_METRICS = ("val_loss", "val_acc")


def as_uri(fs, path: str) -> str:
    """Ray hands back paths inside a pyarrow filesystem; S3's lack the scheme."""
    kind = fs.type_name
    return path if kind == "local" else f"{kind}://{path}"


def _error_line(error: BaseException | None) -> str | None:
    if error is None:
        return None
    # A trial's exception reaches the driver wrapped in a RayTaskError, whose
    # text is the worker's whole traceback: name the cause, in one line.
    cause = getattr(error, "cause", None) or error
    return f"{type(cause).__name__}: {(str(cause).strip().splitlines() or [''])[0]}"


def trial_rows(result_grid: tune.ResultGrid, max_epochs: int) -> list[dict[str, Any]]:
    """One row per trial: its config, every epoch's metrics, and how far it got.

    A trial that failed or reported nothing still has its row (no epochs, its
    error), so the report shows it and :func:`problems` counts it.
    """
    rows = []
    for result in result_grid:
        df = result.metrics_dataframe
        reported = df is not None and not df.empty and METRIC in df
        history = (
            [
                {"epoch": int(r.epoch), "val_loss": float(r.val_loss), "val_acc": float(r.val_acc)}
                for r in df.sort_values("training_iteration").itertuples()
            ]
            if reported
            else []
        )
        best = min(history, key=lambda h: h["val_loss"], default={})
        last = history[-1] if history else {}
        config = result.config or {}
        error = _error_line(result.error)
        rows.append(
            {
                "trial_id": result.metrics["trial_id"],
                "config": {k: config.get(k) for k in SEARCH_SPACE},
                "epochs": len(history),
                "stopped_early": error is None and 0 < len(history) < max_epochs,
                "error": error,
                "val_loss": last.get("val_loss"),
                "val_acc": last.get("val_acc"),
                "best_epoch": best.get("epoch"),
                "best_val_loss": best.get("val_loss"),
                "best_val_acc": best.get("val_acc"),
                "accelerator": "cuda" if result.metrics.get("gpu") else "cpu",
                "node_id": result.metrics.get("node_id"),
                "actor_id": result.metrics.get("actor_id"),
                "placement_group_id": result.metrics.get("placement_group_id"),
                "history": history,
            }
        )
    return sorted(rows, key=lambda r: r["trial_id"])


def tune_best(result_grid: tune.ResultGrid) -> dict[str, Any] | None:
    """Tune's pick: the trial with the lowest validation loss at any epoch, and the
    metrics of its best kept checkpoint (that epoch's). None when no trial reported."""
    try:
        result = result_grid.get_best_result(METRIC, MODE, scope="all")
    except RuntimeError:  # no trial reported the metric
        return None
    if not result.best_checkpoints:
        return None
    checkpoint, metrics = min(result.best_checkpoints, key=lambda kept: kept[1][METRIC])
    return {
        "config": {k: result.config[k] for k in SEARCH_SPACE},
        "val_loss": float(metrics["val_loss"]),
        "val_acc": float(metrics["val_acc"]),
        "epoch": int(metrics["epoch"]),
        "trial_id": result.metrics["trial_id"],
        "checkpoint": as_uri(result.filesystem, checkpoint.path),
    }


def _same(a: float | None, b: float | None) -> bool:
    # The table's figures went through the trial's result file, the best's through
    # the checkpoint's metrics: equal up to how each was written down.
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9)


def problems(rows: list[dict[str, Any]], best: dict[str, Any] | None) -> list[str]:
    """Why the run is not a result ([] when it is): every trial reported at least one
    epoch, the best was chosen on validation loss, and it matches the trial table."""
    found = [] if rows else ["no trial ran"]
    for row in rows:
        if row["error"]:
            found.append(f"trial {row['trial_id']} failed: {row['error']}")
        elif not row["epochs"]:
            found.append(f"trial {row['trial_id']} reported no epoch")
    if best is None:
        return [*found, "no best config: no trial reported a validation loss"]
    lowest = min((h["val_loss"] for r in rows for h in r["history"]), default=None)
    if not _same(best["val_loss"], lowest):
        found.append(
            f"the best config's val_loss {best['val_loss']:.6g} is not the lowest "
            f"validation loss of any epoch ({lowest})"
        )
    row = next((r for r in rows if r["trial_id"] == best["trial_id"]), None)
    epoch = None
    if row is not None and 1 <= best["epoch"] <= row["epochs"]:
        epoch = row["history"][best["epoch"] - 1]
    if (
        epoch is None
        or row["config"] != best["config"]
        or not all(_same(best[m], epoch[m]) for m in VALIDATION_METRICS)
    ):
        found.append(
            f"the best config (trial {best['trial_id']}, epoch {best['epoch']}) "
            "does not match that trial's row in the trial table"
        )
    return found


CSV_FIELDS = ["trial_id", "hidden_size", "learning_rate", "epochs", "stopped_early", "error",
              "val_loss", "val_acc", "best_epoch", "best_val_loss", "best_val_acc",
              "accelerator", "node_id", "actor_id", "placement_group_id"]  # fmt: skip


def write_results(fs, experiment_path: str, summary: dict[str, Any], rows: list[dict]) -> list[str]:
    """results.json and results.csv beside the trials, through Tune's own filesystem
    (local, a shared mount or S3 alike)."""
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, **row["config"]})
    written = []
    for file_name, text in (
        ("results.json", json.dumps(summary, indent=2, default=str)),
        ("results.csv", table.getvalue()),
    ):
        path = f"{experiment_path.rstrip('/')}/{file_name}"
        with fs.open_output_stream(path) as out:
            out.write(text.encode())
        written.append(as_uri(fs, path))
    return written


def _status(row: dict[str, Any]) -> str:
    if row["error"]:
        return f"failed: {row['error']}"
    if not row["epochs"]:
        return "reported no epoch"
    return "stopped by ASHA" if row["stopped_early"] else "ran to max_t"


def _num(value: float | None, spec: str) -> str:
    width = spec.lstrip(">").split(".")[0]
    return format("-", f">{width}") if value is None else format(value, spec)


def format_report(summary: dict[str, Any], rows: list[dict], wall_s: float) -> list[str]:
    header = f"{'trial':<13} {'hidden':>6} {'lr':>9} {'epochs':>6} {'val_loss':>8} {'val_acc':>7}  status"
    lines = ["Trials (last reported epoch):", header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['trial_id']:<13} {_num(r['config']['hidden_size'], '>6')} "
            f"{_num(r['config']['learning_rate'], '>9.2e')} {r['epochs']:>6} "
            f"{_num(r['val_loss'], '>8.4f')} {_num(r['val_acc'], '>7.3f')}  {_status(r)}"
        )
    best, total, budget = summary["best"], summary["total_epochs"], summary["budget_epochs"]
    stopped = sum(r["stopped_early"] for r in rows)
    if best is None:
        lines.append("Best config: none (no trial reported a validation loss)")
    else:
        lines.append(
            f"Best config: hidden_size={best['config']['hidden_size']}, "
            f"learning_rate={best['config']['learning_rate']:.3g} "
            f"(trial {best['trial_id']}, epoch {best['epoch']}): "
            f"val_loss {best['val_loss']:.4f}, val_acc {best['val_acc']:.3f}"
        )
    lines += [
        f"Epochs trained: {total} of {budget} ({summary['num_samples']} samples x max_t "
        f"{summary['max_t']}); ASHA stopped {stopped} of {len(rows)} trials early"
        + (f", saving {1 - total / budget:.0%} of the epochs" if total else ""),
        f"Trials ran on {len({r['node_id'] for r in rows if r['node_id']})} node(s), "
        f"{', '.join(sorted({r['accelerator'] for r in rows}))}",
        f"Wall time: {wall_s:.1f} s",
        f"Results: {summary['experiment_path']}",
    ]
    return lines
