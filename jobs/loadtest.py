"""Bounded HTTP load against the echo service on this machine: req/s, latency, errors.

    ray101 loadtest [--url URL] [--duration S | --requests N] [--connections C]
                    [--baseline] [--rounds R] [--client auto|wrk|python] [--out DIR]

Without ``--url`` it starts the echo service itself (``ray101 serve`` in a
child process) and stops it afterwards. With ``--baseline`` it also starts a
bare Starlette echo on uvicorn and measures it in the same run, so the ratio
compares two servers under the same machine load. Only loopback URLs are
accepted: this is a benchmark for your own machine, not a load generator.

The client is wrk when it is on PATH (it costs the least CPU, which matters
when client and server share the cores), else an asyncio client on aiohttp.
Non-2xx replies and socket errors count as errors; the Python client also
checks every reply body.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jobs import command, flags
from jobs.errors import UsageError
from jobs.ports import free_port

log = logging.getLogger(__name__)

NAME = "loadtest"

DEFAULT_DURATION_S = 10.0
DEFAULT_CONNECTIONS = 16
DEFAULT_DATA = "Hello"
# Bounds that keep a run short and the machine usable.
MAX_DURATION_S = 300.0
MAX_CONNECTIONS = 1024
MAX_REQUESTS = 1_000_000
MAX_ROUNDS = 10
# Load before each measurement, not counted: first connections, lazy imports.
WARMUP_S = 1.0
WARMUP_REQUESTS = 200
# The goals the echo service is held to (docs/echo.md).
GOAL_RATIO = 0.25
GOAL_P99_MS = 20.0
# Seconds to wait for a server this command starts to answer.
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0

# wrk prints its summary for humans; this hook prints the figures as one JSON
# line (wrk's own text has no p95), tagged so the parser finds it.
WRK_MARKER = "RAY101_WRK_JSON "
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "non_2xx": %d, "connect": %d, "read": %d, '
    .. '"write": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
    .. '"mean_us": %.1f, "max_us": %d}\\n',
    "MARKER", summary.requests, summary.duration, e.status, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean, latency.max))
end
""".replace("MARKER", WRK_MARKER)


@dataclass
class Measurement:
    """One target under load for one round."""

    target: str
    client: str
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    wrong_body: int = 0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors + self.wrong_body

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "errors": self.errors}


# ---------------------------------------------------------------------------
# Arguments.


def loopback_url(url: str) -> str:
    """``url`` if it is plain HTTP to this machine; a UsageError otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise UsageError(f"--url {url!r}: only http:// URLs are supported")
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(
            f"--url {url!r}: load goes to loopback addresses only (127.0.0.1, ::1, localhost)"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise UsageError(f"--url {url!r} has an invalid port") from None
    return url


def with_data(url: str, data: str) -> str:
    """The request URL: ``url`` with ``?data=...`` unless it has a query already."""
    parts = urlsplit(url)
    if parts.query:
        return url
    path = parts.path or "/"
    return f"{parts.scheme}://{parts.netloc}{path}?data={quote(data, safe='')}"


def build_parser() -> flags.ArgumentParser:
    parser = flags.ArgumentParser(
        prog="ray101 loadtest",
        description="Bounded HTTP load against the echo service on this machine.",
    )
    parser.add_argument(
        "--url",
        type=loopback_url,
        default=None,
        help="echo service to load, on this machine (default: start one on a free port)",
    )
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument(
        "--duration",
        type=flags.at_most(flags.positive_float, MAX_DURATION_S),
        default=None,
        help=f"seconds of load per target and round (default {DEFAULT_DURATION_S:g}, "
        f"at most {MAX_DURATION_S:g})",
    )
    bound.add_argument(
        "--requests",
        type=flags.at_most(flags.positive_int, MAX_REQUESTS),
        default=None,
        help="send exactly this many requests per target and round instead (Python client)",
    )
    parser.add_argument(
        "--connections",
        type=flags.at_most(flags.positive_int, MAX_CONNECTIONS),
        default=DEFAULT_CONNECTIONS,
        help=f"concurrent keep-alive connections (default {DEFAULT_CONNECTIONS})",
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also measure a bare Starlette-on-uvicorn echo in the same run",
    )
    parser.add_argument(
        "--rounds",
        type=flags.at_most(flags.positive_int, MAX_ROUNDS),
        default=1,
        help="alternate the targets this many times; figures are the medians (default 1)",
    )
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk when on PATH, else Python (default auto)",
    )
    parser.add_argument("--data", default=DEFAULT_DATA, help="the data to echo (default Hello)")
    parser.add_argument("--out", default=None, help="write loadtest.json and loadtest.png here")
    parser.add_argument("--json", action="store_true", help="print one JSON result object")
    return parser


def choose_client(requested: str, bounded_by_requests: bool) -> str:
    have_wrk = shutil.which("wrk") is not None
    if requested == "wrk":
        if not have_wrk:
            raise UsageError("--client wrk: wrk is not on PATH (apt-get install wrk)")
        if bounded_by_requests:
            raise UsageError("--requests needs the Python client; wrk runs for a --duration")
        return "wrk"
    if requested == "python" or bounded_by_requests or not have_wrk:
        return "python"
    return "wrk"


# ---------------------------------------------------------------------------
# Load generators.


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * pct // 100))  # ceil without floats drifting
    return sorted_values[int(rank) - 1]


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
    )


def run_wrk(url: str, target: str, connections: int, duration_s: float) -> Measurement:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        # Two threads, wrk's default: enough to saturate one server process
        # without taking the cores the servers need.
        command = [
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
            command, capture_output=True, text=True, timeout=duration_s + 60, check=False
        )
    finally:
        os.unlink(script.name)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return parse_wrk_output(done.stdout, target)


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
    )


def measure(
    client: str, url: str, target: str, args: argparse.Namespace, expected: bytes
) -> Measurement:
    """Warm up briefly, then measure one target."""
    duration_s = None if args.requests else (args.duration or DEFAULT_DURATION_S)
    if client == "wrk":
        run_wrk(url, target, args.connections, WARMUP_S)
        return run_wrk(url, target, args.connections, duration_s or DEFAULT_DURATION_S)
    run_python(url, target, args.connections, total_requests=WARMUP_REQUESTS)
    return run_python(url, target, args.connections, duration_s, args.requests, expected)


# ---------------------------------------------------------------------------
# Servers this command starts.


def serve_baseline(port: int, host: str = "127.0.0.1") -> None:
    """The bare-ASGI reference: the same echo on Starlette and uvicorn, nothing else."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def echo(request: Request) -> PlainTextResponse:
        data = request.query_params.get("data")
        if data is None:
            return PlainTextResponse("missing data", status_code=400)
        return PlainTextResponse(f"Received data: {data}")

    app = Starlette(routes=[Route("/", echo, methods=["GET"])])
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen
    log_path: Path


def _lines(stream, sink: queue.Queue) -> None:
    for line in stream:
        sink.put(line)


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)  # as Ctrl-C: Serve shuts down cleanly
        try:
            server.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    server.log_path.unlink(missing_ok=True)


def _failed_start(server: Server, why: str) -> RuntimeError:
    tail = server.log_path.read_text(errors="replace")[-2000:] if server.log_path.exists() else ""
    return RuntimeError(f"{server.name} did not start: {why}\n{tail}")


@contextlib.contextmanager
def started_server(
    name: str,
    command: list[str],
    url: str,
    ready_line: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Run ``command`` until the body ends; wait for ``ready_line``, else a 200 from ``url``."""
    # The server's stderr goes to a file, shown only when it fails to start.
    with tempfile.NamedTemporaryFile(
        "w", prefix=f"ray101-{name}-", suffix=".log", delete=False
    ) as log_file:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, **(env or {})},
        )
    server = Server(name, url, process, Path(log_file.name))
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise _failed_start(server, f"exit code {process.returncode}")
            if time.monotonic() > deadline:
                raise _failed_start(server, f"no answer within {START_TIMEOUT_S:.0f} s")
            if ready_line is None:
                if _answers(with_data(url, "ready")):
                    break
                time.sleep(0.1)
                continue
            try:
                if ready_line in lines.get(timeout=0.5):
                    break
            except queue.Empty:
                pass
        yield server
    finally:
        _stop(server)


def echo_server(env: dict[str, str] | None = None) -> contextlib.AbstractContextManager[Server]:
    """``ray101 serve`` on a free loopback port, in a child process with ``env`` added."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "jobs.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    return started_server("echo", command, f"http://127.0.0.1:{port}/", "Echo service ready", env)


def baseline_server() -> contextlib.AbstractContextManager[Server]:
    """The bare Starlette echo on a free loopback port, in a child process."""
    port = free_port()
    command = [
        sys.executable,
        "-c",
        f"from jobs.loadtest import serve_baseline; serve_baseline({port})",
    ]
    return started_server("baseline", command, f"http://127.0.0.1:{port}/")


# ---------------------------------------------------------------------------
# Report.


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
    }


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
    args: argparse.Namespace, client: str, url: str, rounds: dict[str, list[Measurement]]
) -> tuple[dict[str, Any], list[str]]:
    summaries = {name: summarize(ms) for name, ms in rounds.items()}
    load = (
        f"{args.requests:,} requests"
        if args.requests
        else f"{args.duration or DEFAULT_DURATION_S:g} s"
    )
    lines = [
        f"Load: {client}, {args.connections} connections, {load} per target, "
        f"{args.rounds} round(s); echo at {url}",
        *format_table(summaries),
    ]
    payload: dict[str, Any] = {
        "client": client,
        "connections": args.connections,
        "duration_s": None if args.requests else (args.duration or DEFAULT_DURATION_S),
        "requests_per_round": args.requests,
        "url": url,
        "summary": summaries,
        "rounds": {name: [m.to_dict() for m in ms] for name, ms in rounds.items()},
        "goals": {"ratio": GOAL_RATIO, "p99_ms": GOAL_P99_MS},
    }
    echo = summaries["echo"]
    verdict = f"echo p99 {echo['p99_ms']:.1f} ms (goal <= {GOAL_P99_MS:g} ms)"
    if "baseline" in summaries and summaries["baseline"]["rps"] > 0:
        ratio = echo["rps"] / summaries["baseline"]["rps"]
        payload["ratio"] = ratio
        verdict = f"echo/baseline throughput: {ratio:.1%} (goal >= {GOAL_RATIO:.0%}); " + verdict
    lines.append(verdict)
    if client == "python":
        lines.append(
            "(Python client: it shares the cores with the servers and limits both figures)"
        )
    return payload, lines


def run_load(args: argparse.Namespace, client: str, echo_url: str) -> dict[str, list[Measurement]]:
    expected = f"Received data: {args.data}".encode()
    targets = {"echo": with_data(echo_url, args.data)}
    rounds: dict[str, list[Measurement]] = {"echo": []}
    with baseline_server() if args.baseline else _no_server() as base:
        if base is not None:
            targets["baseline"] = with_data(base.url, args.data)
            rounds["baseline"] = []
        for i in range(args.rounds):
            for name, url in targets.items():
                log.info("round %d/%d: %s", i + 1, args.rounds, name)
                rounds[name].append(measure(client, url, name, args, expected))
    return rounds


@contextlib.contextmanager
def _no_server() -> Iterator[None]:
    yield None


def main(argv: Sequence[str] | None = None) -> int:
    """``ray101 loadtest``: exit 0 when every valid request got a 2xx, 1 otherwise."""
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s"
        )
        client = choose_client(args.client, args.requests is not None)
        with _no_server() if args.url else echo_server() as started:
            echo_url = args.url or started.url
            rounds = run_load(args, client, echo_url)
        payload, lines = report(args, client, echo_url, rounds)
        if args.out:
            from jobs.bench import save

            bars = {name: s["rps"] for name, s in payload["summary"].items()}
            json_path, png_path = save(
                args.out,
                NAME,
                payload,
                bars,
                ylabel="requests/s",
                title=f"echo vs bare Starlette\n{args.connections} connections, {client}",
            )
            lines.append(f"Wrote {json_path} and {png_path}")
        print(json.dumps(payload, default=str) if args.json else "\n".join(lines), flush=True)
        errors = sum(s["errors"] for s in payload["summary"].values())
        return command.EXIT_OK if errors == 0 else command.EXIT_FAILED
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return command.EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return command.EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
