"""Command-line plumbing every ``ray101`` command shares: a parser that reports
a bad flag as one line, and the value types the flags use.

The bottom layer: it imports nothing of ``jobs`` but the error type, so any
module may use it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from jobs.runtime.errors import UsageError


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line (not usage + error), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _number(text: str, parse: Callable[[str], float], kind: str) -> float:
    try:
        value = parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
    if value != value or value in (float("inf"), float("-inf")):  # NaN or infinite
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_int(text: str) -> int:
    value = _number(text, int, "a whole number")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int, "a whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float, "a number")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text, float, "a number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def above_one(text: str) -> float:
    value = _number(text, float, "a number")
    if not value > 1:
        raise argparse.ArgumentTypeError(f"must be greater than 1, got {text}")
    return value


def at_most(parse: Callable[[str], float], limit: float) -> Callable[[str], float]:
    """A flag type: ``parse`` (positive_int, positive_float, …), then no more than ``limit``."""

    def check(text: str) -> float:
        value = parse(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"must be at most {limit:g}, got {text}")
        return value

    check.__name__ = getattr(parse, "__name__", "value")  # argparse names the type in errors
    return check


#: A TCP port a server can listen on.
port_number = at_most(positive_int, 65535)


def add_address_arguments(parser: argparse.ArgumentParser) -> None:
    """``--address`` and ``--num-cpus``: which Ray to use, for every command that uses one."""
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


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every workload has: ``--json``, ``--out``, ``--address``, ``--num-cpus``."""
    parser.add_argument("--json", action="store_true", help="print one JSON result object")
    parser.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="also write the result as DIR/<workload>.json (and a plot where it has one)",
    )
    add_address_arguments(parser)
