"""One result shape for every workload, and everywhere it goes: text, a summary
table, ``--json`` (stdout) and ``--out DIR`` (files).

``--json`` prints :meth:`JobResult.to_dict`; ``--out DIR`` writes the same
object, plus the :func:`environment` it was measured in, as ``DIR/<name>.json``
through :func:`write_result`, and ``DIR/<name>.png`` when the workload module
has a ``plot(result) -> Figure``; plots start from :func:`subplots`.
"""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Timing keys shown in the summary table, in this order, when a workload has them.
TABLE_TIMINGS = ("sequential_s", "parallel_s", "speedup")


@dataclass
class JobResult:
    """What one workload run produced.

    ``result`` is the workload's answer (JSON-serialisable); ``timings`` holds
    seconds (keys ending in ``_s``) and ratios such as ``speedup``; ``details``
    carries anything else a script may want; ``lines`` is the human report.
    """

    name: str
    ok: bool
    result: Any = None
    timings: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("lines")
        data["timings"] = {k: _round(v) for k, v in self.timings.items()}
        if self.error is None:
            data.pop("error")
        return data


def _round(value: float) -> float:
    return round(value, 4) if isinstance(value, float) and math.isfinite(value) else value


def speedup(sequential_s: float, parallel_s: float) -> float:
    return sequential_s / parallel_s if parallel_s > 0 else math.inf


def timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """Call ``fn(*args)``; return its value and the seconds it took."""
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def to_json(results: JobResult | list[JobResult]) -> str:
    if isinstance(results, JobResult):
        return json.dumps(results.to_dict(), default=str)
    return json.dumps(
        {"ok": all(r.ok for r in results), "workloads": [r.to_dict() for r in results]},
        default=str,
    )


def _cell(value: Any, width: int = 48) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def _fmt_time(timings: dict[str, float], key: str) -> str:
    if key not in timings:
        return "-"
    value = timings[key]
    return f"{value:.2f}x" if key == "speedup" else f"{value:.2f}"


def summary_table(results: list[JobResult]) -> str:
    """A plain-text table: workload, ok, result, the common timings and wall time."""
    header = ["workload", "ok", "result", *TABLE_TIMINGS, "wall_s"]
    rows = [
        [
            r.name,
            "yes" if r.ok else "NO",
            _cell(r.result if r.ok else r.error),
            *(_fmt_time(r.timings, k) for k in TABLE_TIMINGS),
            _fmt_time(r.timings, "wall_s"),
        ]
        for r in results
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def text_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Rows of figures under a header and a rule: the first column left-aligned,
    the figures right-aligned so their digits line up."""
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first, *rest = cells
        figures = (c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))
        return "  ".join([first.ljust(widths[0]), *figures]).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


# --out DIR: the JSON file and the plot.


def environment() -> dict[str, Any]:
    """What the figures were measured on, so two files can be compared fairly: the
    load average says how much else the machine was doing at the time."""
    import os
    from importlib import metadata

    import ray  # here, so that printing a result does not load Ray

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
