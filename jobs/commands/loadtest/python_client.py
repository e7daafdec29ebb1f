"""The asyncio load client on aiohttp: for when wrk is missing, or a request count
is wanted instead of a duration; it also checks every reply body."""

from __future__ import annotations

import asyncio
import statistics
import time

from jobs.commands.loadtest.measurement import Measurement, cdf, percentile


async def _python_load(
    url: str,
    connections: int,
    duration_s: float | None,
    total_requests: int | None,
    expected: bytes | None,
) -> tuple[list[float], int, int, int, float]:
    import aiohttp
    from yarl import URL

    target = URL(url, encoded=True)  # already percent-encoded; do not encode twice
    latencies: list[float] = []
    counts = {"non_2xx": 0, "socket": 0, "wrong": 0}
    remaining = total_requests
    deadline = time.perf_counter() + duration_s if duration_s is not None else None

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal remaining
        while True:
            if remaining is not None:
                if remaining <= 0:
                    return
                remaining -= 1
            elif deadline is not None and time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            try:
                async with session.get(target) as reply:
                    body = await reply.read()
            except (TimeoutError, aiohttp.ClientError, OSError):
                counts["socket"] += 1
                continue
            latencies.append(time.perf_counter() - started)
            if not 200 <= reply.status < 300:
                counts["non_2xx"] += 1
            elif expected is not None and body != expected:
                counts["wrong"] += 1

    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return latencies, counts["non_2xx"], counts["socket"], counts["wrong"], elapsed


def run_python(
    url: str,
    target: str,
    connections: int,
    duration_s: float | None = None,
    total_requests: int | None = None,
    expected: bytes | None = None,
) -> Measurement:
    """Load ``url`` for ``duration_s`` seconds, or until ``total_requests`` are sent."""
    latencies, non_2xx, socket_errors, wrong, elapsed = asyncio.run(
        _python_load(url, connections, duration_s, total_requests, expected)
    )
    latencies.sort()
    ms = [v * 1000 for v in latencies]
    return Measurement(
        target=target,
        client="python",
        requests=len(latencies),
        duration_s=elapsed,
        rps=len(latencies) / elapsed if elapsed > 0 else 0.0,
        p50_ms=percentile(ms, 50),
        p95_ms=percentile(ms, 95),
        p99_ms=percentile(ms, 99),
        mean_ms=statistics.fmean(ms) if ms else 0.0,
        max_ms=ms[-1] if ms else 0.0,
        non_2xx=non_2xx,
        socket_errors=socket_errors,
        wrong_body=wrong,
        latency_cdf_ms=cdf(ms),
    )
