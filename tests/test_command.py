"""The command skeleton every ray101 command runs in: flag types, exit codes,
one-line messages, SIGTERM."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time

import pytest

from jobs import flags
from jobs.command import EXIT_TERMINATED, EXIT_USAGE, run_command
from jobs.errors import UsageError

from .conftest import REPO_ROOT


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [
        (flags.positive_int, "3", 3),
        (flags.non_negative_int, "0", 0),
        (flags.positive_float, "0.5", 0.5),
        (flags.non_negative_float, "0", 0.0),
        (flags.above_one, "1.5", 1.5),
        (flags.port_number, "65535", 65535),
    ],
)
def test_flag_types_accept(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (flags.positive_int, "0"),
        (flags.positive_int, "1.5"),
        (flags.non_negative_int, "-1"),
        (flags.positive_float, "nan"),
        (flags.positive_float, "inf"),
        (flags.non_negative_float, "-0.1"),
        (flags.above_one, "1"),
        (flags.port_number, "65536"),
    ],
)
def test_flag_types_refuse(parse, text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse(text)


def test_usage_error_is_one_line_and_exit_2(capsys):
    def body() -> int:
        raise UsageError("bad input")

    assert run_command(body) == EXIT_USAGE
    assert capsys.readouterr().err == "error: bad input\n"


def test_parser_error_is_a_usage_error():
    parser = flags.ArgumentParser(prog="x")
    parser.add_argument("--n", type=flags.positive_int)
    with pytest.raises(UsageError, match=r"^x: argument --n: must be positive"):
        parser.parse_args(["--n", "0"])


def test_sigterm_runs_clean_up_and_exits_143():
    # A real process: SIGTERM must unwind through the body's finally block.
    program = (
        "import time\n"
        "from jobs.command import run_command\n"
        "def body():\n"
        "    try:\n"
        "        print('ready', flush=True)\n"
        "        time.sleep(30)\n"
        "    finally:\n"
        "        print('cleaned up', flush=True)\n"
        "raise SystemExit(run_command(body))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", program],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline() == "ready\n"
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == EXIT_TERMINATED
    assert out == "cleaned up\n"
    assert err.strip().count("\n") == 0 and "SIGTERM" in err
    assert time.monotonic() - started < 5
