"""``ray101 serve``: the echo service in the foreground until Ctrl-C or SIGTERM.

Both signals stop it the same way (SIGTERM arrives as
:class:`jobs.command.Terminated`, a KeyboardInterrupt): Serve is shut down,
or only the application deleted when Serve was already running; then the
command ends as every command does, with one line and exit 130 (Ctrl-C) or
143 (SIGTERM). A second signal while stopping ends it at once.
"""

from __future__ import annotations

import argparse
import signal
from collections.abc import Sequence
from typing import NoReturn

from jobs import flags
from jobs.cluster import connect
from jobs.command import run_command, setup_logging
from jobs.echo.config import APP_NAME, DEFAULT_HOST, DEFAULT_PORT
from jobs.echo.lifecycle import Running, check_port_free, serve_running, start, stop_within


def build_parser() -> flags.ArgumentParser:
    parser = flags.ArgumentParser(
        prog="ray101 serve",
        description="Run the echo service in the foreground; Ctrl-C or SIGTERM stops it.",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"interface to listen on (default {DEFAULT_HOST}; 0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--port",
        type=flags.port_number,
        default=DEFAULT_PORT,
        help=f"HTTP port (default {DEFAULT_PORT})",
    )
    flags.add_address_arguments(parser)
    return parser


def serve_foreground(args: argparse.Namespace) -> NoReturn:
    """Until a signal: it always ends with KeyboardInterrupt (or an error)."""
    with connect(args.address, args.num_cpus) as connection:
        if connection.embedded:
            # On a joined cluster the port is the nodes' business (and may be
            # Serve's own, already listening); here it is this machine's.
            check_port_free(args.host, args.port)
        owns_serve = not serve_running()
        running: Running | None = None
        try:
            running = start(args.host, args.port, connection)
            print(
                f"Echo service ready at {running.url} (Serve application '{APP_NAME}'); "
                "Ctrl-C stops it",
                flush=True,
            )
            while True:
                signal.pause()
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM as Terminated
            print("Stopping the echo service …", flush=True)
            raise  # run_command's one line and exit code, once Serve and Ray are down
        finally:
            stop_within(running, owns_serve)


def main(argv: Sequence[str] | None = None) -> int:
    """``ray101 serve [--host] [--port] [--address] [--num-cpus]``."""

    def body() -> int:
        args = build_parser().parse_args(argv)
        setup_logging()
        return serve_foreground(args)

    return run_command(body)
