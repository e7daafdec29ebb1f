"""The thin ``main`` every workload shares: flags, Ray connection, output, exit codes.

A workload module provides::

    NAME = "retrieve"
    def add_arguments(parser: argparse.ArgumentParser) -> None: ...   # optional
    def run(args: argparse.Namespace) -> JobResult: ...              # Ray is connected
    def preflight(args: argparse.Namespace) -> None: ...             # optional, before Ray
    def main(argv=None) -> int: return runner.main_for(sys.modules[__name__], argv)

Exit codes: 0 the job succeeded, 1 it ran and failed, 2 a user's mistake
(one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from types import ModuleType

from jobs import registry
from jobs.cluster import connect
from jobs.errors import UsageError
from jobs.report import JobResult, summary_table, to_json

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line (not usage + error) and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def at_most(parse: Callable[[str], float], limit: float) -> Callable[[str], float]:
    """A flag type: ``parse`` (positive_int, positive_float), then no more than ``limit``."""

    def check(text: str) -> float:
        value = parse(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"must be at most {limit:g}, got {text}")
        return value

    return check


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON result object")
    parser.add_argument(
        "--address",
        default=None,
        help="Ray cluster to join: 'auto', host:port or ray://host:port "
        "(default: $RAY_ADDRESS, else an embedded local Ray)",
    )
    parser.add_argument(
        "--num-cpus",
        type=positive_int,
        default=None,
        help="CPUs of the embedded local Ray (default: this machine's cores)",
    )


def build_parser(module: ModuleType, prog: str | None = None) -> ArgumentParser:
    parser = ArgumentParser(
        prog=prog or f"ray101 run {module.NAME}",
        description=(module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else None,
    )
    add_common_arguments(parser)
    if hasattr(module, "add_arguments"):
        module.add_arguments(parser)
    return parser


def preflight(module: ModuleType, args: argparse.Namespace) -> None:
    """The module's checks that need no Ray (a server's URI, say), so a mistake
    fails in seconds instead of after Ray has started."""
    check = getattr(module, "preflight", None)
    if check is not None:
        check(args)


def run_module(module: ModuleType, args: argparse.Namespace) -> JobResult:
    """Run one workload on the connected Ray, timing it and catching its failure."""
    start = time.perf_counter()
    try:
        result = module.run(args)
    except UsageError:
        raise
    except Exception as exc:  # a job that fails is reported, not a crash of the runner
        logging.getLogger(module.__name__).exception("%s failed", module.NAME)
        result = JobResult(name=module.NAME, ok=False, error=f"{type(exc).__name__}: {exc}")
    result.timings.setdefault("wall_s", time.perf_counter() - start)
    return result


def emit(result: JobResult | list[JobResult], as_json: bool, text: str) -> None:
    print(to_json(result) if as_json else text, flush=True)


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s"
    )


def _guard(body) -> int:
    """Turn a user's mistake into one line and exit code 2."""
    try:
        return body()
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main_for(module: ModuleType, argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """``python -m jobs.<name>`` and ``ray101 run <name>``."""

    def body() -> int:
        args = build_parser(module, prog).parse_args(argv)
        _configure_logging()
        preflight(module, args)
        with connect(args.address, args.num_cpus):
            result = run_module(module, args)
        emit(result, args.json, "\n".join(result.lines) or summary_table([result]))
        if not result.ok and not args.json:
            print(f"error: {result.name}: {result.error}", file=sys.stderr)
        return EXIT_OK if result.ok else EXIT_FAILED

    return _guard(body)


def run_all(argv: Sequence[str] | None = None) -> int:
    """``ray101 run all``: every registered workload on one Ray, one summary table."""

    def body() -> int:
        parser = ArgumentParser(prog="ray101 run all", description=run_all.__doc__)
        add_common_arguments(parser)
        parser.add_argument(
            "--only", nargs="+", metavar="NAME", help="run just these workloads, in the order given"
        )
        args = parser.parse_args(argv)
        names = args.only or list(registry.WORKLOADS)
        workloads = [registry.get(n) for n in names]
        _configure_logging()
        # Parse every workload's demo flags before starting anything, so a bad
        # entry fails fast instead of after minutes of other work.
        planned = []
        for w in workloads:
            module = w.load()
            planned.append((module, build_parser(module).parse_args(list(w.demo_args))))
        results = []
        with connect(args.address, args.num_cpus):
            for i, (module, wargs) in enumerate(planned, 1):
                print(f"[{i}/{len(planned)}] {module.NAME} …", file=sys.stderr, flush=True)
                try:
                    preflight(module, wargs)
                    results.append(run_module(module, wargs))
                except UsageError as exc:  # e.g. MongoDB unreachable: report it, run the rest
                    results.append(JobResult(name=module.NAME, ok=False, error=str(exc)))
        emit(results, args.json, summary_table(results))
        return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED

    return _guard(body)
