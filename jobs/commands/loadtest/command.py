"""``ray101 loadtest``: the flags, the rounds of load, the exit code.

Exit 0 when every valid request got a 2xx (and, with ``--check``, the echo met
its goals); 1 otherwise, with one line on stderr saying why.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from collections.abc import Sequence
from contextlib import nullcontext

from jobs.commands.loadtest.goals import GOALS, Goals
from jobs.commands.loadtest.measurement import Measurement
from jobs.commands.loadtest.python_client import run_python
from jobs.commands.loadtest.report import report
from jobs.commands.loadtest.servers import baseline_server, echo_server
from jobs.commands.loadtest.urls import loopback_url, with_data
from jobs.commands.loadtest.wrk import run_wrk
from jobs.echo.parsing import reply_text
from jobs.runtime import flags
from jobs.runtime.command import EXIT_FAILED, EXIT_OK, run_command, setup_logging
from jobs.runtime.errors import UsageError

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ray101 loadtest``'s flags, and :func:`run`."""
    parser.description = "Bounded HTTP load against the echo service on this machine."
    parser.set_defaults(func=run)
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
        default=DEFAULT_DURATION_S,
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
    parser.add_argument(
        "--check",
        action="store_true",
        # argparse formats help with %, so the sentence's "25%" is escaped.
        help=f"exit 1 when the echo misses its goals ({GOALS.sentence().replace('%', '%%')}); "
        "implies --baseline",
    )
    parser.add_argument(
        "--goal-ratio",
        type=flags.positive_float,
        default=GOALS.ratio,
        help=f"the throughput goal, echo over baseline (default {GOALS.ratio:g})",
    )
    parser.add_argument(
        "--goal-p99-ms",
        type=flags.positive_float,
        default=GOALS.p99_ms,
        help=f"the p99 latency goal in ms (default {GOALS.p99_ms:g})",
    )
    parser.add_argument(
        "--goal-p99-over-baseline",
        type=flags.positive_float,
        default=GOALS.p99_over_baseline,
        metavar="X",
        help="the p99 latency goal as a multiple of the baseline's p99 "
        f"(default {GOALS.p99_over_baseline:g})",
    )
    parser.add_argument("--out", default=None, help="write loadtest.json and loadtest.png here")
    parser.add_argument("--json", action="store_true", help="print one JSON result object")


def build_parser() -> flags.ArgumentParser:
    """The parser of ``ray101 loadtest`` on its own (what :func:`main` parses)."""
    parser = flags.ArgumentParser(prog="ray101 loadtest")
    add_arguments(parser)
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


def measure(
    client: str, url: str, target: str, args: argparse.Namespace, expected: bytes
) -> Measurement:
    """Warm up briefly, then measure one target."""
    if client == "wrk":
        run_wrk(url, target, args.connections, WARMUP_S)
        return run_wrk(url, target, args.connections, args.duration)
    run_python(url, target, args.connections, total_requests=WARMUP_REQUESTS)
    duration_s = None if args.requests else args.duration
    return run_python(url, target, args.connections, duration_s, args.requests, expected)


def run_load(args: argparse.Namespace, client: str, echo_url: str) -> dict[str, list[Measurement]]:
    """``args.rounds`` rounds over the echo (and the baseline, started here), in turn."""
    expected = reply_text(args.data).encode()
    targets = {"echo": with_data(echo_url, args.data)}
    rounds: dict[str, list[Measurement]] = {"echo": []}
    with baseline_server() if args.baseline or args.check else nullcontext() as base:
        if base is not None:
            targets["baseline"] = with_data(base.url, args.data)
            rounds["baseline"] = []
        for i in range(args.rounds):
            for name, url in targets.items():
                log.info("round %d/%d: %s", i + 1, args.rounds, name)
                rounds[name].append(measure(client, url, name, args, expected))
    return rounds


def _write(args: argparse.Namespace, payload: dict) -> str:
    from jobs.commands.loadtest.plot import plot
    from jobs.runtime.result import save_figure

    json_path, png_path = save_figure(args.out, NAME, payload, plot(payload))
    return f"Wrote {json_path} and {png_path}"


def run(args: argparse.Namespace) -> int:
    """``ray101 loadtest``: exit 0, or 1 with one line saying why."""
    setup_logging()
    client = choose_client(args.client, args.requests is not None)
    goals = Goals(
        ratio=args.goal_ratio,
        p99_ms=args.goal_p99_ms,
        p99_over_baseline=args.goal_p99_over_baseline,
    )
    try:
        with nullcontext() if args.url else echo_server() as started:
            echo_url = args.url or started.url
            rounds = run_load(args, client, echo_url)
    except RuntimeError as exc:  # a server that did not start, wrk failing
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    payload, lines = report(args, client, echo_url, rounds, goals)
    if args.out:
        lines.append(_write(args, payload))
    print(json.dumps(payload, default=str) if args.json else "\n".join(lines), flush=True)
    errors = sum(s["errors"] for s in payload["summary"].values())
    if errors:
        print(f"error: {errors:,} requests failed or got a wrong reply", file=sys.stderr)
        return EXIT_FAILED
    if args.check and payload["goals"]["missed"]:
        missed = "; ".join(payload["goals"]["missed"])
        print(f"error: the echo missed its goals: {missed}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """``ray101 loadtest``: see the package's docstring for the flags."""
    return run_command(lambda: run(build_parser().parse_args(argv)))
