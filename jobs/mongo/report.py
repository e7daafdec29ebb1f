"""What the ``mongo`` workload prints, returns as JSON and draws (``--out``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bson import json_util

from jobs.mongo.benchmark import Benchmark, Measured
from jobs.mongo.checksum import Outcome
from jobs.mongo.partition import PARTITION_FIELD, PARTITIONED_PIPELINE
from jobs.mongo.pipelines import Pipeline
from jobs.runtime.result import JobResult

NAME = "mongo"


def _table(rows: list[list[str]]) -> list[str]:
    header = ["mode", "seconds", "vs sequential", "results", "same results"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        left, *middle, last = cells
        numbers = [c.rjust(w) for c, w in zip(middle, widths[1:-1], strict=True)]
        return "  ".join([left.ljust(widths[0]), *numbers, last]).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def _comparison(bench: Benchmark, problems: dict[str, list[str]]) -> list[str]:
    seq_s, base_s = bench.sequential.seconds, bench.baseline.seconds

    def row(mode: str, measured: Measured, base: float) -> list[str]:
        same = "NO: " + ", ".join(problems[mode]) if problems[mode] else "yes"
        ratio = f"{measured.seconds / base:.2f}x" if base > 0 else "-"
        return [mode, f"{measured.seconds:.2f}", ratio, str(measured.count), same]

    partitioned = row("partitioned", bench.partitioned, base_s)
    partitioned[0] = "partitioned*"
    return [
        *_table(
            [
                ["sequential", f"{seq_s:.2f}", "1.00x", str(bench.sequential.count), "(reference)"],
                row("actors", bench.actors, seq_s),
                ["pool start-up", f"{bench.pool_startup_s:.2f}", "-", "-", "-"],
                row("pool", bench.pool, seq_s),
                partitioned,
            ]
        ),
        f"* compared with the unsplit {PARTITIONED_PIPELINE} scan in the sequential run",
    ]


def _highlights(by_name: dict[str, Outcome]) -> list[str]:
    lines = []
    genres = by_name.get("top_genres")
    if genres and genres.rows:
        top = sorted(genres.rows, key=lambda r: (-r["count"], str(r["_id"])))[:5]
        cells = [
            f"{r['_id']} {r['count']} ({r['avg_rating']:.2f})"
            if isinstance(r.get("avg_rating"), int | float)
            else f"{r['_id']} {r['count']}"
            for r in top
        ]
        lines.append("Top genres (movies, mean imdb rating): " + ", ".join(cells))
    decades = by_name.get("movies_per_decade")
    if decades and decades.rows:
        cells = [f"{int(r['_id'])}s {r['count']}" for r in decades.rows]
        lines.append("Movies per decade: " + ", ".join(cells))
    commented = by_name.get("most_commented")
    if commented and commented.rows:
        cells = [f"{r.get('title')} ({r.get('year')}) {r['comments']}" for r in commented.rows[:5]]
        lines.append("Most commented: " + ", ".join(cells))
    return lines


def _json(value: Any) -> Any:
    """BSON values (ObjectId, datetime) as relaxed extended JSON."""
    return json_util._json_convert(value, json_util.RELAXED_JSON_OPTIONS)  # noqa: SLF001


def _disagreeing(problems: dict[str, list[str]]) -> str:
    """``actors: movies; pool: top_genres``: the modes whose results differ, and where."""
    return "; ".join(f"{mode}: {', '.join(names)}" for mode, names in problems.items() if names)


def report(bench: Benchmark, pipelines: Sequence[Pipeline], context: dict[str, Any]) -> JobResult:
    problems = bench.disagreements()
    ok = not any(problems.values())
    seq, label = bench.sequential, context["server"]
    lines = [
        f"Server: {label} at {context['uri']}",
        f"Database {context['database']}: {context['documents']['movies']} movies, "
        f"{context['documents']['comments']} comments",
        "Pipelines: " + ", ".join(bench.names),
        "",
        "Sequential aggregations without Ray (one client in the driver):",
        f"Number of results: {seq.count}",
        f"Execution time: {seq.seconds:.2f} seconds",
        "",
        "Parallel aggregations with Ray, a new Aggregator actor per pipeline (start-up included):",
        f"Number of results: {bench.actors.count}",
        f"Execution time: {bench.actors.seconds:.2f} seconds",
        "",
        f"Warm pool of {context['options']['pool_size']} Aggregator actors:",
        f"Start-up, paid once (actors, connections, partition plan): "
        f"{bench.pool_startup_s:.2f} seconds",
        f"Number of results: {bench.pool.count}",
        f"Execution time: {bench.pool.seconds:.2f} seconds",
        "",
        f"Partitioned: the {PARTITIONED_PIPELINE} scan in {len(bench.partition_filters)} "
        f"{PARTITION_FIELD} ranges on the pool, merged in the driver:",
        f"Number of results: {bench.partitioned.count}",
        f"Execution time: {bench.partitioned.seconds:.2f} seconds",
        "",
        *_comparison(bench, problems),
        "",
        *_highlights(dict(zip(bench.names, seq.outcomes, strict=True))),
        "",
        "All modes returned the same results."
        if ok
        else f"MODES DISAGREE: {_disagreeing(problems)}",
    ]
    if bench.retries:
        lines.append(f"{bench.retries} failed call(s) were retried.")
    if context["standin"]:
        lines.append(f"Measured against the {label}: these figures say nothing about MongoDB.")
    details = {
        **context,
        "pipelines": {
            p.name: {
                "collection": p.collection,
                "stages": _json(p.stages),
                "ordered": p.ordered,
                "count": o.count,
                "digest": o.digest,
                "sequential_s": o.seconds,
                "rows": None if o.rows is None else _json(o.rows[:25]),
            }
            for p, o in zip(pipelines, seq.outcomes, strict=True)
        },
        "partitions": [
            {"filter": _json(f), "count": o.count, "seconds": o.seconds}
            for f, o in zip(bench.partition_filters, bench.partition_outcomes, strict=True)
        ],
        "pool": {"actors": bench.pool_info, "retries": bench.retries},
        "modes_equal": {mode: not names for mode, names in problems.items()},
        "runs_s": {
            "sequential": seq.runs,
            "actors": bench.actors.runs,
            "pool": bench.pool.runs,
            "partitioned": bench.partitioned.runs,
        },
    }
    return JobResult(
        name=NAME,
        ok=ok,
        result={"results": seq.count, "all_modes_equal": ok, "server": label},
        timings=bench.timings(),
        details=details,
        lines=lines,
        error=None if ok else f"modes disagree: {_disagreeing(problems)}",
    )


def plot(result: JobResult):
    """``--out``: time per mode, the server it ran against in the title. Two groups,
    each against its own reference: every pipeline (sequential, the tutorial's
    actors, the warm pool and its one-off start-up), and the movies scan alone,
    unsplit against partitioned."""
    from jobs.runtime.result import subplots

    t, d = result.timings, result.details
    whole = {
        "sequential": t["sequential_s"],
        "actors\n(new per pipeline)": t["actors_s"],
        "pool start-up\n(once)": t["pool_startup_s"],
        "warm pool": t["pool_s"],
    }
    scan = {f"{PARTITIONED_PIPELINE} scan,\nunsplit": t["partitioned_baseline_s"],
            f"{PARTITIONED_PIPELINE} scan,\npartitioned": t["partitioned_s"]}  # fmt: skip
    fig, (left, right) = subplots(
        1, 2, figsize=(9.5, 4.0), gridspec_kw={"width_ratios": [len(whole), len(scan)]}
    )
    colors = ["#2a6fbb", "#c0392b", "#bbbbbb", "#2a6fbb"]
    for ax, bars, shades, title in (
        (left, whole, colors, "all pipelines"),
        (right, scan, ["#2a6fbb", "#27ae60"], f"the {PARTITIONED_PIPELINE} scan alone"),
    ):
        ax.bar(list(bars), list(bars.values()), color=shades)
        for i, v in enumerate(bars.values()):
            ax.annotate(f"{v:.2f} s", (i, v), ha="center", va="bottom", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.margins(y=0.12)
    left.set_ylabel("seconds")
    docs = d.get("documents", {})
    fig.suptitle(
        f"mongo on {d['server']}: {docs.get('movies', '?')} movies, "
        f"{docs.get('comments', '?')} comments",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
