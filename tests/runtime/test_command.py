"""The command skeleton every ray101 command runs in: flag types, exit codes,
one-line messages, SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

import pytest

from jobs.runtime import flags
from jobs.runtime.command import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE, run_command
from jobs.runtime.errors import UsageError
from tests.support import REPO_ROOT


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


def run_program(program: str, wait_for: str = "ready\n") -> subprocess.Popen:
    """``program`` in a fresh Python, once it printed ``wait_for``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", program],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline() == wait_for, proc.stderr.read()
    return proc


@pytest.mark.slow
def test_sigterm_inside_ray_get_is_still_143():
    # Ray re-raises a KeyboardInterrupt from inside ray.get as a plain one, so the
    # Terminated type is lost on the way: the SIGTERM flag must still say 143.
    program = (
        "import time, ray\n"
        "from jobs.runtime.command import run_command, stop_on_sigterm\n"
        "@ray.remote\n"
        "def nap():\n"
        "    time.sleep(60)\n"
        "def body():\n"
        "    ray.init(address='local', num_cpus=1, include_dashboard=False, logging_level='ERROR')\n"
        "    stop_on_sigterm()  # ray.init installs its own handler, as jobs.runtime.connect knows\n"
        "    try:\n"
        "        ref = nap.remote()\n"
        "        print('ready', flush=True)\n"
        "        ray.get(ref)\n"
        "    except KeyboardInterrupt as exc:\n"
        "        print(type(exc).__name__, flush=True)\n"
        "        raise\n"
        "    finally:\n"
        "        ray.shutdown()\n"
        "raise SystemExit(run_command(body))\n"
    )
    proc = run_program(program)
    time.sleep(1.0)  # inside ray.get
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert out.split() == ["KeyboardInterrupt"], (out, err[-2000:])  # the type is lost
    assert proc.returncode == EXIT_TERMINATED, err[-2000:]
    assert err.strip().splitlines()[-1] == "terminated (SIGTERM): stopped"
    assert "Traceback" not in err


def test_ctrl_c_after_an_earlier_commands_sigterm_is_130():
    # Two commands in one process: the first one's SIGTERM does not make the
    # second one's Ctrl-C read as SIGTERM.
    program = (
        "import os, signal, time\n"
        "from jobs.runtime.command import run_command\n"
        "def terminated():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(10)\n"
        "def interrupted():\n"
        "    raise KeyboardInterrupt\n"
        "print(run_command(terminated), run_command(interrupted), flush=True)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30
    )
    assert proc.stdout.split() == [str(EXIT_TERMINATED), str(EXIT_INTERRUPTED)], proc.stderr
    assert proc.stderr.splitlines() == ["terminated (SIGTERM): stopped", "interrupted"]


def test_sigterm_runs_clean_up_and_exits_143():
    # A real process: SIGTERM must unwind through the body's finally block.
    program = (
        "import time\n"
        "from jobs.runtime.command import run_command\n"
        "def body():\n"
        "    try:\n"
        "        print('ready', flush=True)\n"
        "        time.sleep(30)\n"
        "    finally:\n"
        "        print('cleaned up', flush=True)\n"
        "raise SystemExit(run_command(body))\n"
    )
    proc = run_program(program)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == EXIT_TERMINATED
    assert out == "cleaned up\n"
    assert err.strip().count("\n") == 0 and "SIGTERM" in err
    assert time.monotonic() - started < 5


def test_sigterm_that_lands_in_a_finalizer_still_ends_the_command():
    # Python runs the handler wherever the main thread is, and an exception raised
    # inside a weakref callback or __del__ is "ignored" (pymongo has such callbacks).
    # The signal must still end the command, not let it run to the end with exit 0.
    program = (
        "import time, weakref\n"
        "from jobs.runtime.command import run_command\n"
        "class Thing:\n"
        "    pass\n"
        "def slow_callback(_ref):\n"
        "    print('in finalizer', flush=True)\n"
        "    time.sleep(3)  # the signal arrives here\n"
        "def body():\n"
        "    thing = Thing()\n"
        "    ref = weakref.ref(thing, slow_callback)\n"
        "    del thing  # the callback runs now, in the main thread\n"
        "    print('after finalizer', flush=True)\n"
        "    time.sleep(20)\n"
        "    print('ran to the end', flush=True)\n"
        "    return 0\n"
        "raise SystemExit(run_command(body))\n"
    )
    proc = run_program(program, wait_for="in finalizer\n")
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == EXIT_TERMINATED, (out, err[-2000:])
    # Within seconds of the finalizer's end, not after the 20 s sleep that follows.
    assert time.monotonic() - sent < 12
    assert "ran to the end" not in out
    assert err.strip().splitlines() == ["terminated (SIGTERM): stopped"], err[-2000:]


def test_a_test_run_ends_with_pytests_status_before_finalisation(tmp_path):
    """tests/conftest.py ends the run once pytest has reported: a crash planted in
    the interpreter's finalisation (an atexit handler that dereferences NULL) no
    longer turns a finished run into a SIGSEGV; without that end, it does."""
    test_file = tmp_path / "test_planted.py"
    test_file.write_text(
        "import atexit, ctypes\n"
        "atexit.register(lambda: ctypes.string_at(0))\n"
        "def test_ok():\n    pass\n"
        "def test_bad():\n    assert False\n"
    )
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
            "--rootdir", str(tmp_path), str(test_file)]  # fmt: skip

    def run(**env: str) -> subprocess.CompletedProcess:
        return subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONFAULTHANDLER": "", **env})  # fmt: skip

    ended = run()
    assert ended.returncode == 1, ended.stdout[-2000:] + ended.stderr[-2000:]
    assert "1 failed, 1 passed" in ended.stdout
    finalised = run(RAY101_TEST_NORMAL_EXIT="1")
    assert finalised.returncode == -signal.SIGSEGV, finalised.returncode
