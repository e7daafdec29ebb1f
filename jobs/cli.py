"""The ``ray101`` command: an argparse sub-command per verb, in :data:`COMMANDS`.

This module names the commands; the module that runs a command adds its flags
and ``func``, the function that runs it with the parsed flags (its
``add_arguments(parser)``). That module is imported only when its command is
used, so ``ray101 --help``, ``ray101 list`` and the pods' ``ray101 wait …``
load neither Ray nor Serve nor the MongoDB driver (about a second to import).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from jobs import registry
from jobs.runtime.command import EXIT_OK, EXIT_USAGE, run_command
from jobs.runtime.errors import UsageError
from jobs.runtime.flags import ArgumentParser

# What `ray101 --help` prints above the flags (plain text: it is read in a terminal).
USAGE = """\
ray101 list                      the workloads
ray101 run NAME [flags]          one workload (ray101 run NAME --help)
ray101 run all [--only NAME…]    every workload on one embedded Ray, one table
ray101 cluster up|down|status    a multi-node Ray on this machine, shaped like the kind RayCluster
ray101 submit NAME [ARGS…]       one workload through Ray's job API (default: that cluster)
ray101 submit --from-manifest F  a RayJob's entrypoint and runtime env, unchanged
ray101 data load [flags]         sample_mflix-shaped data into MongoDB
ray101 serve [--host] [--port]   the echo service in the foreground
ray101 serve --from-manifest F   a RayService's Serve config on the cluster, then called over HTTP
ray101 loadtest [flags]          bounded load against the echo service
ray101 wait data|bucket [flags]  wait until MongoDB has the data / the bucket exists
ray101 bucket create [flags]     create Tune's bucket if it is missing, and with
                                 --bucket-user the S3 identity limited to it"""

AddArguments = Callable[[argparse.ArgumentParser], None]


class CommandParser(ArgumentParser):
    """A command's parser. Its flags are added when the command is used (``add_arguments``,
    which imports the command's module), and a flag it does not know is reported under
    its own name (``ray101 data load: unrecognized arguments: …``), not ``ray101``'s."""

    def __init__(self, *args: Any, add_arguments: AddArguments | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._add_arguments = add_arguments

    def load(self) -> CommandParser:
        """Add the command's flags now (once)."""
        if self._add_arguments is not None:
            add, self._add_arguments = self._add_arguments, None
            add(self)
        return self

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        self.load()
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras


def _list(args: argparse.Namespace) -> int:
    width = max(len(n) for n in registry.WORKLOADS)
    for w in registry.WORKLOADS.values():
        print(f"{w.name.ljust(width)}  {w.summary}")
    return EXIT_OK


def _add_list(parser: argparse.ArgumentParser) -> None:
    parser.description = "The workloads, one line each."
    parser.set_defaults(func=_list)


def _add_run(parser: argparse.ArgumentParser) -> None:
    from jobs.commands import run

    run.add_arguments(parser)


# The other commands' flags, each from the module that runs the command.


def _add_cluster(parser: argparse.ArgumentParser) -> None:
    from jobs.commands import cluster

    cluster.add_arguments(parser)


def _add_submit(parser: argparse.ArgumentParser) -> None:
    from jobs.commands import submit

    submit.add_arguments(parser)


def _add_data_load(parser: argparse.ArgumentParser) -> None:
    from jobs.commands import data

    data.add_arguments(parser)


def _add_serve(parser: argparse.ArgumentParser) -> None:
    from jobs.commands import serve

    serve.add_arguments(parser)


def _add_loadtest(parser: argparse.ArgumentParser) -> None:
    from jobs.commands.loadtest import command

    command.add_arguments(parser)


def _add_wait_data(parser: argparse.ArgumentParser) -> None:
    from jobs.commands import wait

    wait.add_wait_data_arguments(parser)


def _add_wait_bucket(parser: argparse.ArgumentParser) -> None:
    from jobs.commands import wait

    wait.add_wait_bucket_arguments(parser)


def _add_create_bucket(parser: argparse.ArgumentParser) -> None:
    from jobs.commands import bucket

    bucket.add_create_bucket_arguments(parser)


Commands = dict[str, "AddArguments | Commands"]

# Each command's word and what adds its flags; a dict of its own for a word
# that only groups commands (`ray101 wait data`, `ray101 wait bucket`).
COMMANDS: Commands = {
    "list": _add_list,
    "run": _add_run,
    "cluster": _add_cluster,
    "submit": _add_submit,
    "data": {"load": _add_data_load},
    "serve": _add_serve,
    "loadtest": _add_loadtest,
    "wait": {"data": _add_wait_data, "bucket": _add_wait_bucket},
    "bucket": {"create": _add_create_bucket},
}


def _add_commands(
    parser: argparse.ArgumentParser, commands: Commands, every: bool, **kwargs: Any
) -> None:
    words = parser.add_subparsers(
        prog=parser.prog, parser_class=CommandParser, required=True, **kwargs
    )
    for word, add in commands.items():
        if isinstance(add, dict):
            group = words.add_parser(word)
            _add_commands(group, add, every, metavar="|".join(add))
        else:
            command = words.add_parser(word, add_arguments=add)
            if every:
                command.load()


def build_parser(every_command: bool = False) -> ArgumentParser:
    """``ray101``'s parser. A command's flags are added when the command is parsed,
    or here already with ``every_command`` (which imports every command's module)."""
    parser = ArgumentParser(
        prog="ray101",
        usage="%(prog)s COMMAND [FLAGS…]",
        description=USAGE,
        epilog="'ray101 COMMAND --help' lists a command's flags.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # USAGE lists the commands: argparse's list of them is left out.
    _add_commands(parser, COMMANDS, every_command, metavar="COMMAND", help=argparse.SUPPRESS)
    return parser


def dispatch(argv: Sequence[str]) -> int:
    argv = list(argv)
    parser = build_parser()
    if not argv or argv[0] == "help":
        parser.print_help()
        return EXIT_OK if argv else EXIT_USAGE
    if not argv[0].startswith("-") and argv[0] not in COMMANDS:
        raise UsageError(f"unknown command {argv[0]!r}; see 'ray101 --help'")
    args = parser.parse_args(argv)
    return args.func(args)


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(lambda: dispatch(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())
