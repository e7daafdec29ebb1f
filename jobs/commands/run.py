"""``ray101 run NAME [FLAGS]``: one workload (its own ``main``, ``jobs.runtime.runner``),
and ``ray101 run all``: every workload of the registry on one Ray, one summary table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from jobs import registry
from jobs.runtime import runner
from jobs.runtime.command import EXIT_FAILED, EXIT_OK, run_command, setup_logging
from jobs.runtime.connect import connect
from jobs.runtime.errors import UsageError
from jobs.runtime.flags import ArgumentParser, add_common_arguments
from jobs.runtime.result import JobResult, summary_table


def run(args: argparse.Namespace) -> int:
    """``ray101 run NAME [FLAGS]`` or ``ray101 run all [FLAGS]``."""
    if args.workload is None:
        raise UsageError("ray101 run: name a workload (see 'ray101 list') or 'all'")
    if args.workload == "all":
        return run_all(args.workload_args)
    return runner.main_for(registry.get(args.workload).load(), args.workload_args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ray101 run``'s words, and :func:`run`."""
    parser.description = "Run one workload, or all of them, on an embedded Ray or a cluster."
    # Each workload has flags of its own: its parser (runner.build_parser) reads what follows NAME.
    parser.add_argument(
        "workload", nargs="?", metavar="NAME", help="a workload (ray101 list), or all"
    )
    parser.add_argument(
        "workload_args",
        nargs=argparse.REMAINDER,
        metavar="FLAGS",
        help="the workload's flags (ray101 run NAME --help)",
    )
    parser.set_defaults(func=run)


def all_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="ray101 run all", description=run_all.__doc__)
    add_common_arguments(parser)
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run just these workloads, in the order given"
    )
    return parser


def parser_for(name: str) -> ArgumentParser:
    """The parser of ``ray101 run NAME``'s flags, ``all`` included (UsageError for a NAME
    that is no workload)."""
    return all_parser() if name == "all" else runner.build_parser(registry.get(name).load())


def run_all(argv: Sequence[str] | None = None) -> int:
    """``ray101 run all``: every registered workload on one Ray, one summary table."""

    def body() -> int:
        args = all_parser().parse_args(argv)
        names = args.only or list(registry.WORKLOADS)
        workloads = [registry.get(n) for n in names]
        setup_logging()
        # Parse every workload's demo flags before starting anything, so a bad
        # entry fails fast instead of after minutes of other work.
        planned = []
        for w in workloads:
            module = w.load()
            wargs = runner.build_parser(module).parse_args(list(w.demo_args))
            wargs.out = args.out
            planned.append((module, wargs))
        results = []
        with connect(args.address, args.num_cpus) as connection:
            for i, (module, wargs) in enumerate(planned, 1):
                print(f"[{i}/{len(planned)}] {module.NAME} …", file=sys.stderr, flush=True)
                try:
                    checked = runner.preflight(module, wargs)
                    results.append(runner.run_module(module, wargs, connection, checked))
                except UsageError as exc:  # e.g. MongoDB unreachable: report it, run the rest
                    results.append(JobResult(name=module.NAME, ok=False, error=str(exc)))
        runner.emit(results, args.json, summary_table(results))
        return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED

    return run_command(body)
