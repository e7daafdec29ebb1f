"""``ray101 serve``: the echo service in the foreground until Ctrl-C or SIGTERM.

Both signals stop it the same way (SIGTERM arrives as
:class:`jobs.runtime.command.Terminated`, a KeyboardInterrupt): Serve is shut down,
or only the application deleted when Serve was already running; then the
command ends as every command does, with one line and exit 130 (Ctrl-C) or
143 (SIGTERM). A second signal while stopping ends it at once.
"""

from __future__ import annotations

import argparse
import signal
from typing import NoReturn

from jobs.commands import serve_manifest
from jobs.echo.config import APP_NAME, DEFAULT_HOST, DEFAULT_PORT
from jobs.echo.lifecycle import Running, check_port_free, serve_running, start, stop_within
from jobs.runtime import flags
from jobs.runtime.command import setup_logging
from jobs.runtime.connect import connect
from jobs.runtime.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ray101 serve``'s flags, the foreground server's and ``--from-manifest``'s
    (:func:`jobs.commands.serve_manifest.add_arguments`), and :func:`run`."""
    parser.description = (
        "Run the echo service in the foreground; Ctrl-C or SIGTERM stops it. "
        "With --from-manifest, deploy a RayService's Serve config instead."
    )
    parser.set_defaults(func=run)
    # Defaults are filled in after parsing, so that --from-manifest can refuse
    # the flags of the foreground server when they are given.
    parser.add_argument(
        "--host",
        default=None,
        help=f"interface to listen on (default {DEFAULT_HOST}; 0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--port",
        type=flags.port_number,
        default=None,
        help=f"HTTP port (default {DEFAULT_PORT})",
    )
    flags.add_address_arguments(parser)
    serve_manifest.add_arguments(parser)


FOREGROUND_ONLY = ("host", "port", "num_cpus")


def serve_from_manifest(args: argparse.Namespace) -> int:
    given = [name for name in FOREGROUND_ONLY if getattr(args, name) is not None]
    if given:
        flag = "--" + given[0].replace("_", "-")
        hint = "; Serve's port there is --http-port" if given[0] == "port" else ""
        raise UsageError(
            f"ray101 serve: {flag} is the foreground server's, not --from-manifest's{hint}"
        )
    return serve_manifest.run(args)


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


def run(args: argparse.Namespace) -> int:
    """``ray101 serve [--host] [--port] [--address] [--num-cpus]``, or
    ``ray101 serve --from-manifest FILE [--name] [--http-port] [--timeout] [--address]``."""
    setup_logging()
    if args.from_manifest is not None:
        return serve_from_manifest(args)
    serve_manifest.refuse_manifest_flags(args)
    args.host = args.host or DEFAULT_HOST
    args.port = args.port or DEFAULT_PORT
    return serve_foreground(args)
