"""The load test's picture: the latency distribution of each target, p50/p95/p99 marked."""

from __future__ import annotations

from typing import Any

from jobs.runtime.result import subplots

LABELS = {"echo": "echo (Ray Serve)", "baseline": "bare ASGI (Starlette on uvicorn)"}
COLORS = {"echo": "#2a6fbb", "baseline": "#7f7f7f"}
MARKED = ((50, "p50_ms"), (95, "p95_ms"), (99, "p99_ms"))


def plot(payload: dict[str, Any]) -> Any:
    """Latency CDF per target (the median over rounds at each percentile) on a logit
    axis, which spreads the tail where p99 lives; the p99 goal as a dotted line."""
    from matplotlib.ticker import FuncFormatter

    fig, ax = subplots(figsize=(7.5, 4.8))
    for i, (name, summary) in enumerate(payload["summary"].items()):
        # Labels of the first target to the right of its points, the next to the left,
        # so equal percentiles of two targets do not print over each other.
        right = i % 2 == 0
        cdf = [(ms, pct / 100) for pct, ms in summary.get("latency_cdf_ms", []) if ms > 0]
        color = COLORS.get(name, "#c0392b")
        label = f"{LABELS.get(name, name)}: {summary['rps']:,.0f} req/s"
        if cdf:
            ax.plot([x for x, _ in cdf], [y for _, y in cdf], color=color, lw=1.8, label=label)
        for pct, key in MARKED:
            ax.plot(summary[key], pct / 100, "o", color=color, ms=5)
            ax.annotate(
                f"p{pct} {summary[key]:.1f} ms",
                (summary[key], pct / 100),
                xytext=(6 if right else -6, 3),
                textcoords="offset points",
                ha="left" if right else "right",
                fontsize=7,
                color=color,
            )
    goal = payload.get("goals", {}).get("p99_ms")
    if goal:
        ax.axvline(goal, color="#c0392b", ls=":", lw=1, label=f"p99 goal: {goal:g} ms")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    low, high = ax.get_xlim()
    ax.set_xlim(low, high * 2)  # room for the labels of the slowest points
    ax.set_yscale("logit")
    ticks = [0.1, 0.5, 0.9, 0.95, 0.99, 0.999]
    ax.set_yticks(ticks, [f"p{t * 100:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_ylim(0.01, 0.9999)
    ax.set_xlabel("latency, ms (log scale)")
    ax.set_ylabel("requests answered within (percentile)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=8)
    ratio = payload.get("ratio")
    share = f": echo at {ratio:.0%} of the bare ASGI throughput" if ratio is not None else ""
    load = (
        f"{payload['requests_per_round']:,} requests"
        if payload.get("requests_per_round")
        else f"{payload.get('duration_s', 0):g} s"
    )
    rounds = len(next(iter(payload.get("rounds", {}).values()), []))
    ax.set_title(
        f"Latency distribution, same run{share}\n{payload['connections']} connections, "
        f"{payload['client']}, {rounds} round(s) × {load} per target",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
