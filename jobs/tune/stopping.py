"""SIGTERM or Ctrl-C during ``Tuner.fit``: Tune stops every trial, then the job ends.

A signal handler that raises while ``Tuner.fit`` waits inside Ray's core does
not unwind cleanly: Ray turns the exception into a plain KeyboardInterrupt
(so SIGTERM would end as Ctrl-C does), and Tune cleans up its trials only
when an ``Exception`` escapes its loop, so they would run on until the
driver's Ray went away. Tune's own Ctrl-C handler stops the run but then
returns as if it had finished, and the job would report a cut-short search
as its result.

So while ``fit`` runs, either signal only asks Tune to stop, through a
``Stopper`` (Tune's public way to end an experiment): Tune stops every trial,
saves the experiment state and returns, and then the job raises
:class:`jobs.runtime.command.Terminated` (SIGTERM, exit 143) or KeyboardInterrupt
(Ctrl-C, 130). A second signal stops waiting for the trials.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ray import tune

from jobs.runtime.command import Terminated

# Tune installs its own Ctrl-C handler inside fit unless this is set.
_TUNE_SIGINT_SWITCH = "TUNE_DISABLE_SIGINT_HANDLER"


class StopOnSignal(tune.Stopper):
    """Ends the whole experiment once a signal has been received; never one trial alone."""

    def __init__(self) -> None:
        self.received: int | None = None

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.received is not None


def _exception(signum: int) -> BaseException:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


@contextmanager
def stop_trials_on_signal(stopper: StopOnSignal) -> Iterator[None]:
    """Run ``Tuner.fit`` in the body; ``stopper`` must be the Tuner's ``RunConfig.stop``.

    The stopper must live in this process: under Ray Client the Tuner runs on
    the cluster with a copy of it, so there the body runs without this.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def ask_tune_to_stop(signum: int, frame: Any) -> None:
        if stopper.received is not None:
            raise _exception(signum)  # the second signal: stop waiting for the trials
        stopper.received = signum

    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {s: signal.signal(s, ask_tune_to_stop) for s in signals}
    switch = os.environ.get(_TUNE_SIGINT_SWITCH)
    os.environ[_TUNE_SIGINT_SWITCH] = "1"
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if switch is None:
            os.environ.pop(_TUNE_SIGINT_SWITCH, None)
        else:
            os.environ[_TUNE_SIGINT_SWITCH] = switch
    if stopper.received is not None:
        raise _exception(stopper.received)
