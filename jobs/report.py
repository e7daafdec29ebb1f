"""One result shape for every workload, printed as text, JSON or a summary table."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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
