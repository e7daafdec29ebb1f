"""The wrk load client: the least CPU per request, so client and servers can share cores."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

from jobs.commands.loadtest.measurement import CDF_PERCENTILES, Measurement

# wrk prints its summary for humans; this hook prints the figures as one JSON
# line (wrk's own text has no p95, nor the distribution), tagged so the parser finds it.
WRK_MARKER = "RAY101_WRK_JSON "
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  local cdf = {}
  for i, p in ipairs({PERCENTILES}) do
    cdf[i] = string.format('[%g, %d]', p, latency:percentile(p))
  end
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "non_2xx": %d, "connect": %d, "read": %d, '
    .. '"write": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
    .. '"mean_us": %.1f, "max_us": %d, "cdf_us": [%s]}\\n',
    "MARKER", summary.requests, summary.duration, e.status, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean, latency.max, table.concat(cdf, ", ")))
end
""".replace("MARKER", WRK_MARKER).replace(
    "PERCENTILES", ", ".join(f"{p:g}" for p in CDF_PERCENTILES)
)


def parse_wrk_output(stdout: str, target: str) -> Measurement:
    for line in stdout.splitlines():
        if line.startswith(WRK_MARKER):
            raw = json.loads(line[len(WRK_MARKER) :])
            break
    else:
        raise RuntimeError(f"wrk printed no summary:\n{stdout[-2000:]}")
    duration_s = raw["duration_us"] / 1e6
    return Measurement(
        target=target,
        client="wrk",
        requests=raw["requests"],
        duration_s=duration_s,
        rps=raw["requests"] / duration_s if duration_s > 0 else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p95_ms=raw["p95_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        non_2xx=raw["non_2xx"],
        socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        latency_cdf_ms=[[p, us / 1000] for p, us in raw.get("cdf_us", [])],
    )


def run_wrk(url: str, target: str, connections: int, duration_s: float) -> Measurement:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        # Two threads, wrk's default: enough to saturate one server process
        # without taking the cores the servers need.
        argv = [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{max(1, round(duration_s))}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
            url,
        ]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=duration_s + 60, check=False
        )
    finally:
        os.unlink(script.name)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return parse_wrk_output(done.stdout, target)
