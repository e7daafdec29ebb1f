"""The load test's report: medians over rounds, a table, the ratio and the goals."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from typing import Any

from jobs.commands.loadtest.goals import Goals
from jobs.commands.loadtest.measurement import Measurement


def summarize(rounds: list[Measurement]) -> dict[str, Any]:
    """Medians over rounds for the figures; sums for the counts."""

    def median(key: str) -> float:
        return statistics.median(getattr(m, key) for m in rounds)

    return {
        "rps": median("rps"),
        "p50_ms": median("p50_ms"),
        "p95_ms": median("p95_ms"),
        "p99_ms": median("p99_ms"),
        "mean_ms": median("mean_ms"),
        "requests": sum(m.requests for m in rounds),
        "non_2xx": sum(m.non_2xx for m in rounds),
        "socket_errors": sum(m.socket_errors for m in rounds),
        "wrong_body": sum(m.wrong_body for m in rounds),
        "errors": sum(m.errors for m in rounds),
        "latency_cdf_ms": median_cdf(rounds),
    }


def median_cdf(rounds: list[Measurement]) -> list[list[float]]:
    """The rounds' latency distributions as one: the median latency at each percentile."""
    curves = [m.latency_cdf_ms for m in rounds if m.latency_cdf_ms]
    if not curves:
        return []
    return [
        [pct, statistics.median(curve[i][1] for curve in curves)]
        for i, (pct, _) in enumerate(curves[0])
    ]


def format_table(summaries: dict[str, dict[str, Any]]) -> list[str]:
    header = ("target", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "requests")
    rows = [
        (
            name,
            f"{s['rps']:,.0f}",
            f"{s['p50_ms']:.2f}",
            f"{s['p95_ms']:.2f}",
            f"{s['p99_ms']:.2f}",
            f"{s['errors']:,}",
            f"{s['requests']:,}",
        )
        for name, s in summaries.items()
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

    return [line(header), *(line(r) for r in rows)]


def report(
    args: argparse.Namespace,
    client: str,
    url: str,
    rounds: dict[str, list[Measurement]],
    goals: Goals,
) -> tuple[dict[str, Any], list[str]]:
    """The JSON payload and the text lines; ``payload["goals"]["missed"]`` says what missed."""
    summaries = {name: summarize(ms) for name, ms in rounds.items()}
    load = f"{args.requests:,} requests" if args.requests else f"{args.duration:g} s"
    lines = [
        f"Load: {client}, {args.connections} connections, {load} per target, "
        f"{args.rounds} round(s); echo at {url}",
        *format_table(summaries),
    ]
    echo = summaries["echo"]
    baseline_rps = summaries.get("baseline", {}).get("rps", 0)
    ratio = echo["rps"] / baseline_rps if baseline_rps > 0 else None
    baseline_p99_ms = summaries.get("baseline", {}).get("p99_ms")
    missed = goals.missed(echo, ratio, baseline_p99_ms)
    payload: dict[str, Any] = {
        "client": client,
        "connections": args.connections,
        "duration_s": None if args.requests else args.duration,
        "requests_per_round": args.requests,
        "url": url,
        "summary": summaries,
        "rounds": {name: [m.to_dict() for m in ms] for name, ms in rounds.items()},
        "goals": {
            "ratio": goals.ratio,
            "p99_ms": goals.p99_ms,
            "p99_over_baseline": goals.p99_over_baseline,
            "missed": missed,
        },
    }
    verdict = f"echo p99 {echo['p99_ms']:.1f} ms (goal <= {goals.p99_ms:g} ms)"
    if baseline_p99_ms:
        verdict += (
            f", {echo['p99_ms'] / baseline_p99_ms:.1f}x the baseline's"
            f" (goal <= {goals.p99_over_baseline:g}x)"
        )
    if ratio is not None:
        payload["ratio"] = ratio
        verdict = f"echo/baseline throughput: {ratio:.1%} (goal >= {goals.ratio:.0%}); " + verdict
    lines.append(verdict)
    if client == "python":
        lines.append(
            "(Python client: it shares the cores with the servers and limits both figures)"
        )
    return payload, lines
