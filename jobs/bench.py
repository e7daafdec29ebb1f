"""Benchmark output written once for every workload: a JSON file and a PNG plot.

``--out DIR`` (a flag of every workload) writes ``DIR/<name>.json`` through
:func:`write_result`, and ``DIR/<name>.png`` when the workload module has a
``plot(result) -> Figure``; plots start from :func:`subplots`.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray


def environment() -> dict[str, Any]:
    """What the figures were measured on, so two files can be compared fairly: the
    load average says how much else the machine was doing at the time."""
    import os
    from importlib import metadata

    try:
        torch = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch = None
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return {
        "python": platform.python_version(),
        "ray": ray.__version__,
        "torch": torch,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "memory_gib": round(pages * page_size / 2**30, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def subplots(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """``matplotlib.pyplot.subplots`` on the file-only backend (no display on servers, CI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def bar_figure(bars: dict[str, float], ylabel: str = "seconds", title: str = "") -> Any:
    """One bar per label, each with its value written on it."""
    fig, ax = subplots(figsize=(max(4.0, 1.2 * len(bars)), 3.5))
    labels, values = list(bars), list(bars.values())
    ax.bar(labels, values, color="#2a6fbb")
    for i, v in enumerate(values):
        ax.annotate(f"{v:.3g}", (i, v), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def save(
    out_dir: str | Path,
    name: str,
    payload: dict[str, Any],
    bars: dict[str, float],
    ylabel: str = "seconds",
    title: str | None = None,
) -> tuple[Path, Path]:
    """Write ``payload`` (plus the environment) as JSON and ``bars`` as a PNG chart."""
    return save_figure(out_dir, name, payload, bar_figure(bars, ylabel, title or name))


def save_figure(
    out_dir: str | Path, name: str, payload: dict[str, Any], fig: Any
) -> tuple[Path, Path]:
    """Write ``payload`` (plus the environment) as ``<name>.json`` and ``fig`` as ``<name>.png``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / f"{name}.json", out / f"{name}.png"
    json_path.write_text(
        json.dumps({"name": name, "environment": environment(), **payload}, indent=2, default=str)
    )
    fig.savefig(png_path, dpi=110)
    _close(fig)
    return json_path, png_path


def write_result(
    out_dir: str | Path, result: Any, plot: Callable[[Any], Any] | None = None
) -> list[Path]:
    """``--out DIR`` for every workload: ``DIR/<name>.json`` (the ``--json`` object plus
    the environment) and, when the workload has a ``plot(result) -> Figure``,
    ``DIR/<name>.png``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{result.name}.json"
    json_path.write_text(
        json.dumps({**result.to_dict(), "environment": environment()}, indent=2, default=str)
    )
    written = [json_path]
    if plot is not None and result.ok:
        png_path = out / f"{result.name}.png"
        fig = plot(result)
        fig.savefig(png_path, dpi=110)
        _close(fig)
        written.append(png_path)
    return written


def _close(fig: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)
