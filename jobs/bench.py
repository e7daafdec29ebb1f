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


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**data, "environment": environment()}, indent=2, default=str))
    return path


def _write_png(path: Path, fig: Any) -> Path:
    try:
        fig.savefig(path, dpi=110)
    finally:
        _close(fig)
    return path


def save_figure(
    out_dir: str | Path, name: str, payload: dict[str, Any], fig: Any
) -> tuple[Path, Path]:
    """Write ``payload`` (plus the environment) as ``<name>.json`` and ``fig`` as ``<name>.png``."""
    out = Path(out_dir)
    json_path = _write_json(out / f"{name}.json", {"name": name, **payload})
    return json_path, _write_png(out / f"{name}.png", fig)


def write_result(
    out_dir: str | Path, result: Any, plot: Callable[[Any], Any] | None = None
) -> list[Path]:
    """``--out DIR`` for every workload: ``DIR/<name>.json`` (the ``--json`` object plus
    the environment) and, when the workload has a ``plot(result) -> Figure``,
    ``DIR/<name>.png``."""
    out = Path(out_dir)
    written = [_write_json(out / f"{result.name}.json", result.to_dict())]
    if plot is not None and result.ok:
        written.append(_write_png(out / f"{result.name}.png", plot(result)))
    return written


def _close(fig: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)
