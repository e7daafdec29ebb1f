"""What every ``ray101`` command does around its body, written once.

A user's mistake is one line on stderr and exit 2; Ctrl-C is exit 130 and
SIGTERM (``ray job stop``, a pod being deleted) exit 143, each with one line
and after the body's ``finally`` blocks have stopped what it started; logging
is set up once, in one format.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from jobs.runtime.errors import UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143

# How long after a finalizer swallowed a signal it is raised again: the finalizer's
# caller has returned to ordinary code well before.
REDELIVER_AFTER_S = 0.05

LOG_FORMAT = "%(asctime)s %(name)s: %(message)s"


class Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM, so it unwinds like Ctrl-C does."""


# Set once SIGTERM has arrived during the running command. Ray's blocking calls
# (ray.get, ray.wait) turn any KeyboardInterrupt raised inside them into a plain
# KeyboardInterrupt, so the exception's type alone cannot tell SIGTERM from Ctrl-C.
_sigterm_received = threading.Event()


def _raise_terminated(signum: int, frame: Any) -> None:
    _sigterm_received.set()
    raise Terminated


def _redeliver_swallowed_interrupts(unraisable: Any) -> None:
    """Deliver again a Ctrl-C or SIGTERM that a finalizer swallowed.

    Python runs a signal's handler at the next bytecode of the main thread, and that
    can be inside a ``__del__`` or a weakref callback (pymongo's executors have one).
    An exception raised there is printed as "Exception ignored" and dropped, so the
    command would go on to the end as if no signal had come. Raising the signal
    again lands it in the code that comes after the finalizer. It is raised from a
    timer thread a moment later: raised at once, it would land in this hook, where
    it is dropped too. Should it land in another finalizer, this hook runs again.
    """
    if issubclass(unraisable.exc_type, KeyboardInterrupt):
        signum = signal.SIGTERM if _sigterm_received.is_set() else signal.SIGINT
        # A real signal to the main thread, not _thread.interrupt_main: only a
        # signal interrupts the call it is blocked in (a sleep, a socket read).
        main = threading.main_thread().ident
        timer = threading.Timer(REDELIVER_AFTER_S, signal.pthread_kill, (main, signum))
        timer.daemon = True
        timer.start()
        return
    _previous_unraisablehook(unraisable)


_previous_unraisablehook = sys.unraisablehook


def stop_on_sigterm() -> None:
    """Turn SIGTERM into :class:`Terminated` in the main thread.

    ``ray.init`` installs its own SIGTERM handler in the driver, which exits
    without running ``finally`` blocks (and, in Tune, prints a C++ stack dump);
    :func:`jobs.runtime.connect.connect` calls this again after it.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)
        sys.unraisablehook = _redeliver_swallowed_interrupts


def setup_logging(level: int = logging.INFO) -> None:
    """One log format on stderr for every command; stdout is the report's."""
    root = logging.getLogger()
    if not any(getattr(h, "_ray101", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler._ray101 = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)


def run_command(body: Callable[[], int]) -> int:
    """Run a command's body: exit codes and one-line messages for the ways it can end."""
    _sigterm_received.clear()  # a SIGTERM of an earlier command in this process is not ours
    stop_on_sigterm()
    try:
        return body()
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        if isinstance(exc, Terminated) or _sigterm_received.is_set():
            print("terminated (SIGTERM): stopped", file=sys.stderr)
            return EXIT_TERMINATED
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
