"""The tests' servers are started and stopped with :mod:`jobs.runtime.processes`; a
binary the test needs and the machine lacks fails the test."""

from __future__ import annotations

import shutil

import pytest

from jobs.runtime.processes import start, stop, tail, wait_ready

__all__ = ["require", "start", "stop", "tail", "wait_ready"]


def require(binary: str, package: str) -> str:
    """The binary's path; a missing one fails the test (never skips it)."""
    path = shutil.which(binary)
    if path is None:
        pytest.fail(
            f"{binary} is not installed: apt-get install {package} (.ci/run installs it)",
            pytrace=False,
        )
    return path
