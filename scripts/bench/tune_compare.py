"""The tutorial's Tune example against `ray101 run tune`, in one session, on one budget.

Both run the tutorial's budget (10 samples, ASHA max_t 10, grace 1, reduction 2,
1,000 rows, 1 CPU per trial: the tutorial's code and the workload's defaults),
each in its own process with its own local Ray of ``--num-cpus`` CPUs, one after
the other (alternating when ``--repeat`` > 1). The budget is read back from what
the runs report, and the two must agree. Printed and saved (``--out``, default
results/): wall time of the tuning itself (``tune.run`` / the workload's ``run``;
Ray start-up excluded, the same for both) and of the whole process, epochs
trained, and the best config's validation accuracy.

The tutorial picks its best config on a training loss and never validates, so its
pick is scored here the same way ours is: trained max_t epochs by the workload's
own training function on its seeded train split, accuracy on the validation
split. Our pick is shown both as Tune reported it (its best epoch) and scored
that same way.

Exit status: 0 when both goals are met (tuning wall time at most GOAL_RATIO of
the tutorial's, at most GOAL_EPOCH_SHARE of the budget's epochs), 1 when one is
missed or the runs disagree on the budget.

Run: .venv/bin/python scripts/bench/tune_compare.py [--num-cpus 2] [--repeat 1] [--out results]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from bench_process import timed_process  # noqa: E402

from jobs.runtime.result import save_figure, subplots  # noqa: E402
from jobs.tune import data, model  # noqa: E402

# Ours against the tutorial on the same budget: tuning wall time, and epochs
# trained as a share of the budget (num_samples x max_t).
GOAL_RATIO, GOAL_EPOCH_SHARE = 0.6, 0.5


def run_tutorial(num_cpus: int, scratch: Path) -> dict:
    out = scratch / "tutorial.json"
    _, process_s = timed_process(
        [sys.executable, "scripts/bench/tune_tutorial.py", "--num-cpus", str(num_cpus),
         "--storage-path", str(scratch / "tutorial"), "--json-out", str(out)],
        timeout_s=900,
    )  # fmt: skip
    summary = json.loads(out.read_text())
    return {
        "budget": summary["budget"],
        "wall_s": summary["wall_s"],
        "process_s": process_s,
        "total_epochs": summary["total_epochs"],
        "best_config": summary["best_config"],
        "picked_on": "last training batch loss, reported once at train_end",
    }


def run_ours(num_cpus: int, scratch: Path, out: str) -> dict:
    """Our workload; its own JSON and plot (every trial's curves) go to ``out`` too."""
    proc, process_s = timed_process(
        [sys.executable, "-m", "jobs.tune", "--json", "--num-cpus", str(num_cpus),
         "--storage-path", str(scratch / "ours"), "--out", out],
        timeout_s=900,
    )  # fmt: skip
    out = json.loads(proc.stdout)
    d = out["details"]
    return {
        "budget": {
            "num_samples": d["num_samples"],
            "max_t": d["max_t"],
            "samples": d["data"]["samples"],
        },
        "data": {**d["data"], "seed": d["seed"], "batch_size": d["batch_size"]},
        "wall_s": out["timings"]["wall_s"],
        "process_s": process_s,
        "total_epochs": out["details"]["total_epochs"],
        "epochs_per_trial": out["details"]["epochs_per_trial"],
        "best_config": out["result"]["config"],
        "best_val_acc_reported": out["result"]["val_acc"],
        "best_epoch": out["result"]["epoch"],
        "picked_on": "validation loss, reported every epoch",
    }


def score(config: dict, run: dict) -> float:
    """Validation accuracy of ``config`` trained ``max_t`` epochs outside Tune, by the
    trials' own training function, on our run's data, split, seed and batch size."""
    spec = run["data"]
    fields = ("samples", "features", "informative", "classes", "seed")
    split = data.make_data(data.DataSpec(**{k: spec[k] for k in fields}))
    model.quiet_lightning()
    mlp, trainer, batches = model.train(
        config, split, run["budget"]["max_t"], spec["batch_size"], spec["seed"]
    )
    (metrics,) = trainer.validate(mlp, datamodule=batches, verbose=False)
    return float(metrics["val_acc"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--num-cpus", type=int, default=os.cpu_count(), help="CPUs of each local Ray"
    )
    parser.add_argument("--repeat", type=int, default=1, help="pairs of runs; medians are kept")
    parser.add_argument("--out", default=str(REPO_ROOT / "results"), help="JSON + PNG go here")
    args = parser.parse_args()

    tutorial_runs, our_runs = [], []
    with tempfile.TemporaryDirectory(prefix="tune-compare-") as tmp:
        for i in range(args.repeat):
            # Alternate the order so a slow spell on a shared machine hits both.
            pair = [("tutorial", run_tutorial), ("ours", functools.partial(run_ours, out=args.out))]
            for label, fn in pair if i % 2 == 0 else reversed(pair):
                print(f"[{i + 1}/{args.repeat}] {label} …", file=sys.stderr, flush=True)
                run = fn(args.num_cpus, Path(tmp) / f"{label}-{i}")
                (tutorial_runs if label == "tutorial" else our_runs).append(run)

    budgets = {json.dumps(r["budget"], sort_keys=True) for r in tutorial_runs + our_runs}
    if len(budgets) != 1:
        print(f"the runs did not have the same budget: {sorted(budgets)}", file=sys.stderr)
        return 1
    budget = json.loads(budgets.pop())
    budget_epochs = budget["num_samples"] * budget["max_t"]
    goal_epochs = GOAL_EPOCH_SHARE * budget_epochs

    tutorial, ours = tutorial_runs[-1], our_runs[-1]
    for key in ("wall_s", "process_s", "total_epochs"):
        tutorial[key] = statistics.median(r[key] for r in tutorial_runs)
        ours[key] = statistics.median(r[key] for r in our_runs)
    # ASHA's epochs depend on the order in which parallel trials reach each rung.
    epochs_seen = sorted(r["total_epochs"] for r in our_runs)

    # Score both picks the same way: max_t epochs on the same split, validation accuracy.
    tutorial["best_val_acc"] = score(tutorial["best_config"], ours)
    ours["best_val_acc_retrained"] = score(ours["best_config"], ours)
    ours["best_val_acc"] = ours["best_val_acc_reported"]

    ratio = ours["wall_s"] / tutorial["wall_s"]
    process_ratio = ours["process_s"] / tutorial["process_s"]
    met = {
        "ratio_wall": ratio <= GOAL_RATIO,
        "total_epochs": ours["total_epochs"] <= goal_epochs,
    }
    lines = [
        f"budget (from the runs): {budget['num_samples']} samples x max_t {budget['max_t']} "
        f"= {budget_epochs} epochs, {budget['samples']} rows, {args.num_cpus} CPUs",
        f"{'':<22}{'tutorial':>12}{'ours':>12}",
        f"{'tune wall (s)':<22}{tutorial['wall_s']:>12.1f}{ours['wall_s']:>12.1f}",
        f"{'process wall (s)':<22}{tutorial['process_s']:>12.1f}{ours['process_s']:>12.1f}",
        f"{'total epochs (median)':<22}{tutorial['total_epochs']:>12g}{ours['total_epochs']:>12g}"
        + (f"   (ours: {', '.join(map(str, epochs_seen))})" if len(epochs_seen) > 1 else ""),
        f"{'best val_acc':<22}{tutorial['best_val_acc']:>12.3f}{ours['best_val_acc']:>12.3f}",
        f"{'  retrained max_t ep.':<22}{tutorial['best_val_acc']:>12.3f}"
        f"{ours['best_val_acc_retrained']:>12.3f}",
        f"best config (last run): tutorial {tutorial['best_config']}, ours {ours['best_config']}",
        f"ratio ours/tutorial: tune wall {ratio:.2f} (goal <= {GOAL_RATIO}: "
        f"{_verdict(met['ratio_wall'])}), process wall {process_ratio:.2f}; "
        f"epochs {ours['total_epochs']:g} (goal <= {goal_epochs:g}, "
        f"{GOAL_EPOCH_SHARE:.0%} of the budget: {_verdict(met['total_epochs'])})",
    ]
    print("\n".join(lines))
    payload = {
        "budget": {**budget, "num_cpus": args.num_cpus},
        "repeat": args.repeat,
        "tutorial": tutorial,
        "ours": ours,
        "ratio_wall": ratio,
        "ratio_process": process_ratio,
        "goal": {"ratio_wall": GOAL_RATIO, "total_epochs": goal_epochs},
        "met": met,
        "our_epochs_per_run": epochs_seen,
        "runs": {"tutorial": tutorial_runs, "ours": our_runs},
    }
    json_path, png_path = save_figure(args.out, "tune-compare", payload, figure(payload))
    print(f"wrote {json_path} and {png_path}", file=sys.stderr)
    return 0 if all(met.values()) else 1


def figure(payload: dict):
    """Tutorial against ours, on the same budget: the tuning itself and the whole
    process (start-up and imports included), each ours-over-tutorial ratio on top."""
    tutorial, ours = payload["tutorial"], payload["ours"]
    fig, ax = subplots(figsize=(6.5, 4.0))
    groups = [("tuning wall", "wall_s", payload["ratio_wall"]),
              ("whole process", "process_s", payload["ratio_process"])]  # fmt: skip
    for i, (_, key, ratio) in enumerate(groups):
        for offset, run, color, name in ((-0.2, tutorial, "#999999", "tutorial's code"),
                                         (0.2, ours, "#2a6fbb", "ours")):  # fmt: skip
            ax.bar(i + offset, run[key], width=0.38, color=color, label=name if i == 0 else None)
            ax.annotate(f"{run[key]:.1f} s", (i + offset, run[key]), ha="center", va="bottom",
                        fontsize=8)  # fmt: skip
        ax.annotate(f"{ratio:.2f}×", (i + 0.2, ours[key]), xytext=(0, 14),
                    textcoords="offset points", ha="center", fontsize=9, weight="bold")  # fmt: skip
    ax.set_xticks(range(len(groups)), [g[0] for g in groups])
    ax.set_ylabel("seconds")
    ax.margins(y=0.15)
    ax.legend(fontsize=8, loc="upper left")
    budget = payload["budget"]
    ax.set_title(
        f"Tune on the tutorial's budget ({budget['num_samples']} samples × max_t "
        f"{budget['max_t']}, {budget['num_cpus']} CPUs)\nepochs trained: tutorial "
        f"{tutorial['total_epochs']:g}, ours {ours['total_epochs']:g}; best config retrained: "
        f"val acc {tutorial['best_val_acc']:.3f} vs {ours['best_val_acc_retrained']:.3f}",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


if __name__ == "__main__":
    raise SystemExit(main())
