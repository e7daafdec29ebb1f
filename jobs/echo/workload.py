"""``ray101 run echo``: start the echo service, call it, check every reply, stop it."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Any

from jobs.echo.config import APP_NAME, DEFAULT_HOST, HEALTH_ROUTE, SERVE_ENV
from jobs.echo.lifecycle import serve_running, shutdown_serve, start, stop
from jobs.echo.parsing import reply_text
from jobs.runtime import flags, runner
from jobs.runtime.errors import UsageError
from jobs.runtime.ports import free_port
from jobs.runtime.result import JobResult

NAME = "echo"
preflight = None  # nothing to check before Ray starts
plot = None  # no figure: the result is the answer


@dataclass(frozen=True)
class Check:
    label: str
    method: str
    kwargs: dict[str, Any]
    status: int
    text: str | None  # the exact reply, or None for a JSON error


CHECKS = (
    Check("GET /?data=Hello", "GET", {"params": {"data": "Hello"}}, 200, reply_text("Hello")),
    Check(
        'POST / {"data": "Hello"}', "POST", {"json": {"data": "Hello"}}, 200, reply_text("Hello")
    ),
    Check("GET / without data", "GET", {}, 400, None),
    Check(
        "GET Unicode",
        "GET",
        {"params": {"data": "héllo 世界 🚀"}},
        200,
        reply_text("héllo 世界 🚀"),
    ),
    Check("GET /-/healthz", "GET", {"path": HEALTH_ROUTE}, 200, None),
)


def call(url: str, check: Check) -> tuple[bool, str]:
    import requests

    kwargs = dict(check.kwargs)
    target = url.rstrip("/") + kwargs.pop("path", "/")
    reply = requests.request(check.method, target, timeout=10, **kwargs)
    ok = reply.status_code == check.status
    if ok and check.text is not None:
        ok = reply.text == check.text
    elif ok and check.status >= 400:
        ok = "error" in reply.json()
    return ok, f"{reply.status_code} {reply.text[:80]!r}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=flags.port_number, default=None, help="HTTP port (default: a free one)"
    )


def run(args: argparse.Namespace, ctx: runner.Context) -> JobResult:
    if not ctx.connection.on_a_node:
        raise UsageError("ray101 run echo calls the service on this machine; use a local Ray")
    if serve_running():
        raise UsageError(
            "Serve already runs on this Ray cluster; call it with 'ray101 loadtest --url'"
        )
    port = args.port or free_port()
    started_at = time.perf_counter()
    try:
        running = start(DEFAULT_HOST, port, ctx.connection)
    except BaseException:
        shutdown_serve()  # Serve was not running before (checked above)
        raise
    try:
        start_s = time.perf_counter() - started_at
        calls_at = time.perf_counter()
        outcomes = [(check, *call(running.url, check)) for check in CHECKS]
        calls_s = time.perf_counter() - calls_at
    finally:
        stopping_at = time.perf_counter()
        stop(running)
        stop_s = time.perf_counter() - stopping_at
    failed = [f"{c.label}: {detail}" for c, ok, detail in outcomes if not ok]
    hello = reply_text("Hello") if outcomes[0][1] else None
    lines = [
        hello or "(no echo)",
        f"Echo service at {running.url} (Serve application '{APP_NAME}')",
        *(f"  {'ok  ' if ok else 'FAIL'} {c.label} -> {detail}" for c, ok, detail in outcomes),
        f"Started in {start_s:.1f} s, {len(CHECKS)} calls in {calls_s * 1000:.0f} ms, "
        f"stopped in {stop_s:.1f} s",
    ]
    return JobResult(
        name=NAME,
        ok=not failed,
        result=hello,
        timings={"start_s": start_s, "calls_s": calls_s, "stop_s": stop_s},
        details={
            "url": running.url,
            "checks": {c.label: ok for c, ok, _ in outcomes},
            "serve_env": {k: v for k, v in running.env.items() if k in SERVE_ENV},
        },
        lines=lines,
        error="; ".join(failed) or None,
    )


def main(argv=None) -> int:
    return runner.main_for(sys.modules[__name__], argv)
