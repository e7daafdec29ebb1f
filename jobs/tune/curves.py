"""The search as a practitioner draws it: every trial's validation curves, where ASHA
stopped it, and the best trial's best epoch."""

from __future__ import annotations

from typing import Any

from jobs.runtime.result import subplots

METRICS = (("val_loss", "validation loss"), ("val_acc", "validation accuracy"))


def rungs(grace_period: int, reduction_factor: float, max_t: int) -> list[int]:
    """The epochs at which ASHA compares trials: grace, grace·rf, grace·rf², … below max_t."""
    found, epoch = [], float(grace_period)
    while epoch < max_t:
        found.append(round(epoch))
        epoch *= reduction_factor
    return found


def plot(result: Any) -> Any:
    """``--out``: validation loss and accuracy per epoch, one line per trial; a trial
    ASHA stopped ends in a cross, one that ran to max_t in a dot; the best trial
    is drawn bold with its best epoch starred; ASHA's rungs are dotted lines."""
    d, best = result.details, result.result or {}
    trials = d["trials"]
    fig, axes = subplots(1, 2, figsize=(10.0, 4.2), sharex=True)
    for ax, (metric, label) in zip(axes, METRICS, strict=True):
        for rung in rungs(d["grace_period"], d["reduction_factor"], d["max_t"]):
            ax.axvline(rung, color="#cccccc", ls=":", lw=1, zorder=0)
        for row in trials:
            epochs = [h["epoch"] for h in row["history"]]
            values = [h[metric] for h in row["history"]]
            if not epochs:
                continue
            is_best = row["trial_id"] == best.get("trial_id")
            color = "#c0392b" if is_best else ("#999999" if row["stopped_early"] else "#2a6fbb")
            ax.plot(epochs, values, color=color, lw=2.2 if is_best else 1.0,
                    alpha=1.0 if is_best else 0.8, zorder=3 if is_best else 2)  # fmt: skip
            ax.plot(epochs[-1], values[-1], "x" if row["stopped_early"] else "o", color=color,
                    ms=6 if row["stopped_early"] else 4, zorder=3)  # fmt: skip
        if best.get("epoch"):
            ax.plot(best["epoch"], best[metric], "*", color="#c0392b", ms=14, zorder=4,
                    markeredgecolor="white")  # fmt: skip
        ax.set_xlabel("epoch (training iteration)")
        ax.set_ylabel(label)
        ax.set_xticks(range(1, d["max_t"] + 1))
        ax.grid(alpha=0.3)
    _legend(axes[0], best)
    stopped, total = d["stopped_early"], len(trials)
    fig.suptitle(
        f"Tune + ASHA: {total} trials, {stopped} stopped early; {d['total_epochs']} of "
        f"{d['budget_epochs']} epochs trained in {result.timings.get('fit_s', 0):.0f} s "
        f"(rungs at epochs {', '.join(map(str, rungs(d['grace_period'], d['reduction_factor'], d['max_t'])))})",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def _legend(ax: Any, best: dict) -> None:
    from matplotlib.lines import Line2D

    config = best.get("config", {})
    handles = [
        Line2D([], [], color="#2a6fbb", marker="o", ms=4, label="ran to max_t"),
        Line2D([], [], color="#999999", marker="x", ms=6, label="stopped by ASHA"),
        Line2D([], [], color="#c0392b", lw=2.2, marker="*", ms=12,
               label=f"best: hidden {config.get('hidden_size')}, "
               f"lr {config.get('learning_rate', 0):.2g}, epoch {best.get('epoch')}"),
        Line2D([], [], color="#cccccc", ls=":", label="ASHA rung"),
    ]  # fmt: skip
    ax.legend(handles=handles, fontsize=7, loc="upper right")
