"""The argparse parser a ``ray101`` or ``python -m jobs.…`` command line reaches.

``ray101``: the CLI's own parser, with every command's flags (``ray101 run
NAME``: the workload's parser). ``python -m MODULE``: the module's ``main`` is
called with the words shown, so the dispatch the user's shell would reach is
the one checked; its parser's ``parse_args`` is stopped before it parses, and
the parser and its words are handed back. Nothing past the parser runs: no
Ray, no server, no file written.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import Callable, Sequence

from jobs import cli
from jobs.runtime import flags
from jobs.runtime.errors import UsageError
from tools.python_main import main_of


class _Reached(BaseException):  # BaseException: no `except Exception` of a command catches it
    def __init__(self, parser: argparse.ArgumentParser, argv: list[str]) -> None:
        self.parser, self.argv = parser, argv


def _stop(self: argparse.ArgumentParser, args: Sequence[str] | None = None, namespace=None):
    raise _Reached(self, list(args or []))


def reach(
    main: Callable[[list[str]], int], argv: list[str]
) -> tuple[argparse.ArgumentParser | None, list[str]]:
    """(the parser ``main(argv)`` builds, the words it would parse); (None, []) when
    ``main`` returns without parsing (``ray101 list``). A UsageError (an unknown
    command or workload) propagates."""
    original = flags.ArgumentParser.parse_args
    flags.ArgumentParser.parse_args = _stop  # type: ignore[method-assign]
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(argv)
    except _Reached as reached:
        return reached.parser, reached.argv
    finally:
        flags.ArgumentParser.parse_args = original  # type: ignore[method-assign]
    return None, []


def ray101(argv: list[str]) -> tuple[argparse.ArgumentParser, list[str]]:
    """``ray101 ARGV``: (ray101's parser with every command's flags, ARGV), or for
    ``ray101 run NAME …`` (the workload's parser, the words after NAME). An unknown
    workload raises UsageError."""
    if argv[:1] == ["run"] and len(argv) > 1 and not argv[1].startswith("-"):
        from jobs.commands.run import parser_for

        return parser_for(argv[1]), argv[2:]
    return cli.build_parser(every_command=True), argv


def python_module(
    module_name: str, argv: list[str]
) -> tuple[argparse.ArgumentParser | None, list[str]]:
    try:
        main = main_of(module_name)
    except ModuleNotFoundError:
        raise UsageError(f"no module {module_name}") from None
    return reach(main, argv)
