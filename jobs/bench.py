"""Benchmark output written once for every workload: a JSON file and a PNG plot.

Workloads that measure speed take ``--out DIR`` and call :func:`save` (a bar
chart) or :func:`save_figure` (any figure the workload draws), so figures land
in ``DIR/<name>.json`` and ``DIR/<name>.png`` side by side.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray

if TYPE_CHECKING:  # matplotlib is imported only when a plot is written
    from matplotlib.figure import Figure


def environment() -> dict[str, Any]:
    """What the figures were measured on, so two files can be compared fairly."""
    import os

    return {
        "python": platform.python_version(),
        "ray": ray.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def save_figure(
    out_dir: str | Path,
    name: str,
    payload: dict[str, Any],
    draw: Callable[[Figure], None],
    figsize: tuple[float, float] = (8.0, 4.0),
) -> tuple[Path, Path]:
    """Write ``payload`` (plus the environment) as JSON, and as a PNG the figure
    ``draw`` builds on the blank matplotlib Figure it is given."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / f"{name}.json", out / f"{name}.png"
    json_path.write_text(
        json.dumps({"name": name, "environment": environment(), **payload}, indent=2, default=str)
    )
    # Constrained layout also makes room for legends placed outside the axes.
    fig = plt.figure(figsize=figsize, layout="constrained")
    try:
        draw(fig)
        fig.savefig(png_path, dpi=110)
    finally:
        plt.close(fig)
    return json_path, png_path


def save(
    out_dir: str | Path,
    name: str,
    payload: dict[str, Any],
    bars: dict[str, float],
    ylabel: str = "seconds",
    title: str | None = None,
) -> tuple[Path, Path]:
    """Write ``payload`` (plus the environment) as JSON and ``bars`` as a PNG bar chart."""

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        labels, values = list(bars), list(bars.values())
        ax.bar(labels, values, color="#2a6fbb")
        for i, v in enumerate(values):
            ax.annotate(f"{v:.3g}", (i, v), ha="center", va="bottom", fontsize=8)
        ax.set_ylabel(ylabel)
        ax.set_title(title or name)

    return save_figure(out_dir, name, payload, draw, figsize=(max(4.0, 1.2 * len(bars)), 3.5))
