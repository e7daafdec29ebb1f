"""The practitioner's picture: speedup over sequential against task duration."""

from __future__ import annotations

from jobs.overhead.table import STRATEGY_NAMES, duration
from jobs.overhead.work import Kind
from jobs.runtime.result import JobResult

STYLE = {
    "per_item": {"color": "#c0392b", "marker": "o"},
    "batched": {"color": "#2a6fbb", "marker": "s"},
}
# Where each strategy's break-even label sits, as a fraction of the axes' height:
# low, where no curve runs once Ray has caught up.
LABEL_HEIGHT = {"per_item": 0.04, "batched": 0.16}


def zero_position(durations_s: list[float]) -> float:
    """Where a task of 0 s sits on the log axis: a decade left of the shortest real one."""
    positive = [d for d in durations_s if d > 0]
    return min(positive) / 10 if positive else 1e-4


def draw_kind(ax, kind: Kind, cells: list, slots: int, crossings: dict) -> None:
    mine = sorted((c for c in cells if c.kind == kind.name), key=lambda c: c.duration_s)
    durations = [c.duration_s for c in mine]
    xs = [d if d > 0 else zero_position(durations) for d in durations]
    # 0 s has no place on a log axis: its point is joined by a dashed segment.
    split = 1 if durations and durations[0] == 0 else 0
    for strategy, style in STYLE.items():
        ys = [c.speedup(strategy) for c in mine]
        ax.plot(xs[split:], ys[split:], **style, linewidth=1.8, label=STRATEGY_NAMES[strategy])
        if split:
            ax.plot(xs[:2], ys[:2], color=style["color"], linestyle="--", linewidth=1)
            ax.plot(xs[:1], ys[:1], **style, linestyle="none")
        point = crossings[strategy]
        if point is None:  # still slower than sequential at the longest duration
            ax.annotate(
                f"no break-even up to {duration(durations[-1])} ",
                (1, LABEL_HEIGHT[strategy]),
                xycoords="axes fraction",
                ha="right",
                color=style["color"],
                fontsize=8,
            )
        elif point > 0:
            ax.axvline(point, color=style["color"], linestyle=":", linewidth=1.2)
            ax.annotate(
                f" break-even {duration(point)}",
                (point, LABEL_HEIGHT[strategy]),
                xycoords=("data", "axes fraction"),
                color=style["color"],
                fontsize=8,
            )
    ax.axhline(1, color="black", linewidth=1, label="sequential (1x)")
    ax.axhline(slots, color="grey", linestyle="--", linewidth=1, label="ideal: tasks at once")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs, [duration(d) for d in durations])
    ax.minorticks_off()
    ax.set_xlabel("work per item")
    ax.set_title(f"{kind.label}: {slots} tasks at once ({kind.task_cpus:g} CPU each)", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)


class _Point:
    """A cell as the JSON keeps it, enough to draw: kind, duration and speedups."""

    def __init__(self, cell: dict) -> None:
        self.kind = cell["kind"]
        self.duration_s = cell["duration_ms"] / 1e3
        self._speedups = {s: cell[f"speedup_{s}"] for s in STYLE}

    def speedup(self, strategy: str) -> float:
        return self._speedups[strategy]


def plot(result: JobResult, kinds: list[Kind]):
    """Speedup over sequential against work per item, one panel per kind, drawn
    from the result alone (so a report can redraw it from the JSON)."""
    from jobs.runtime.result import subplots

    d, r = result.details, result.result
    cells = [_Point(c) for c in d["cells"]]
    fig, axes = subplots(
        1, len(kinds), sharey=True, squeeze=False, figsize=(11.0, 5.0), layout="constrained"
    )
    axes = axes[0]
    for ax, kind in zip(axes, kinds, strict=True):
        crossings = {
            "per_item": _seconds(r["break_even_ms"].get(kind.name)),
            "batched": _seconds(r["batched_break_even_ms"].get(kind.name)),
        }
        draw_kind(ax, kind, cells, d["slots"][kind.name], crossings)
    axes[0].set_ylabel("speedup over sequential (log)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=9)
    fig.suptitle(
        f"When Ray pays off: speedup over sequential ({d['cpus']:g} CPUs, "
        f"up to {d['max_items']:,} items per duration, best of {d['rounds']})",
        fontsize=11,
    )
    return fig


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1e3
