"""The thin ``main`` every workload shares: flags, Ray connection, output, exit codes.

A workload module provides :class:`WorkloadModule`, and its ``main`` is
``runner.main_for(sys.modules[__name__], argv)``.

``preflight`` checks what needs no Ray (a server's URI, the shape of the
data) so a mistake fails in seconds; what it returns reaches ``run`` as
``ctx.checked``. ``ctx.connection`` says which Ray the run joined.

Exit codes: 0 the job succeeded, 1 it ran and failed, 2 a user's mistake
(one line on stderr, no traceback), 130 Ctrl-C, 143 SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from jobs.runtime.command import EXIT_FAILED, EXIT_OK, run_command, setup_logging
from jobs.runtime.connect import Connection, connect
from jobs.runtime.errors import UsageError
from jobs.runtime.flags import ArgumentParser, add_common_arguments
from jobs.runtime.result import JobResult, summary_table, to_json, write_result


@dataclass(frozen=True)
class Context:
    """What a workload's ``run`` is handed besides its flags."""

    connection: Connection
    # What the workload's preflight found (None when it has none).
    checked: Any = None


@runtime_checkable
class WorkloadModule(Protocol):
    """What a workload module provides (a module satisfies it by its names).

    A workload without checks before Ray, or without a figure, says so with
    ``preflight = None`` or ``plot = None``."""

    NAME: str
    # Checks that need no Ray; what it returns reaches ``run`` as ``ctx.checked``.
    preflight: Callable[[argparse.Namespace], Any] | None
    # ``--out DIR`` draws ``DIR/<NAME>.png`` from a successful result.
    plot: Callable[[JobResult], Any] | None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, ctx: Context) -> JobResult: ...


def build_parser(module: WorkloadModule, prog: str | None = None) -> ArgumentParser:
    doc = (module.__doc__ or "").strip()
    parser = ArgumentParser(
        prog=prog or f"ray101 run {module.NAME}",
        description=doc.splitlines()[0] if doc else None,
    )
    add_common_arguments(parser)
    module.add_arguments(parser)
    return parser


def preflight(module: WorkloadModule, args: argparse.Namespace) -> Any:
    """The module's checks that need no Ray, so a mistake fails before Ray starts."""
    return None if module.preflight is None else module.preflight(args)


def run_module(
    module: WorkloadModule, args: argparse.Namespace, connection: Connection, checked: Any = None
) -> JobResult:
    """Run one workload on the connected Ray, timing it and catching its failure."""
    start = time.perf_counter()
    try:
        result = module.run(args, Context(connection=connection, checked=checked))
    except UsageError:
        raise
    except Exception as exc:  # a job that fails is reported, not a crash of the runner
        logging.getLogger(module.__name__).exception("%s failed", module.NAME)
        result = JobResult(name=module.NAME, ok=False, error=f"{type(exc).__name__}: {exc}")
    result.timings.setdefault("wall_s", time.perf_counter() - start)
    if getattr(args, "out", None):
        write_result(Path(args.out), result, plot=module.plot)
    return result


def run_parsed(module: WorkloadModule, args: argparse.Namespace) -> JobResult:
    """Preflight, connect and run one workload whose flags are parsed."""
    checked = preflight(module, args)
    with connect(args.address, args.num_cpus) as connection:
        return run_module(module, args, connection, checked)


def invoke(module: WorkloadModule, argv: Sequence[str] = ()) -> JobResult:
    """Parse, preflight and run one workload on the Ray this process already has (or an
    embedded one): the same path as ``ray101 run``, without the printing."""
    return run_parsed(module, build_parser(module).parse_args(list(argv)))


def emit(result: JobResult | list[JobResult], as_json: bool, text: str) -> None:
    print(to_json(result) if as_json else text, flush=True)


def main_for(
    module: WorkloadModule, argv: Sequence[str] | None = None, prog: str | None = None
) -> int:
    """``python -m jobs.<name>`` and ``ray101 run <name>``."""

    def body() -> int:
        args = build_parser(module, prog).parse_args(argv)
        setup_logging()
        result = run_parsed(module, args)
        emit(result, args.json, "\n".join(result.lines) or summary_table([result]))
        if not result.ok and not args.json:
            print(f"error: {result.name}: {result.error}", file=sys.stderr)
        return EXIT_OK if result.ok else EXIT_FAILED

    return run_command(body)
