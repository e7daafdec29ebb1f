"""What the end-to-end tests share besides fixtures: the deployment's names
(from names.env, the file scripts/lib/names.sh sources) and the wait for a
condition on the cluster. Test modules import these from here, never from
``tests/e2e/conftest.py``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from tools.chart import REPO_ROOT, read_env

_NAMES = read_env(REPO_ROOT / "names.env")
NAMESPACE = _NAMES["NAMESPACE"]
RAYCLUSTER = _NAMES["RAYCLUSTER"]
HEAD_SVC = _NAMES["HEAD_SVC"]
MONGO_STS = _NAMES["MONGO_STS"]
MONGO_POD = _NAMES["MONGO_POD"]
MONGO_SECRET = _NAMES["MONGO_SECRET"]
MONGO_DB = _NAMES["MONGO_DB"]
LOADER_JOB = _NAMES["LOADER_JOB"]
BUCKET_JOB = _NAMES["BUCKET_JOB"]
RAYSERVICE = _NAMES["RAYSERVICE"]
SERVE_SVC = _NAMES["SERVE_SVC"]
SERVE_PORT = int(_NAMES["SERVE_PORT"])
RAYJOB_PREFIX = _NAMES["RAYJOB_PREFIX"]

RAY_GROUP, RAY_VERSION = "ray.io", "v1"

# Seconds to wait for a condition; the deployment is normally done already
# (scripts/e2e-kind waited for it), so this only covers a test run on its own.
TIMEOUT_S = float(os.environ.get("RAY101_E2E_TIMEOUT", "1800"))
POLL_S = 5.0


class Finished(Exception):
    """Raised by a probe when the awaited state can no longer come."""


def wait_for(what: str, probe: Callable[[], tuple[bool, Any]], timeout: float = TIMEOUT_S) -> Any:
    """Call ``probe`` until it returns (True, value); fail naming ``what`` and the last state.

    ``probe`` may raise ``Finished`` to stop early with a failure (e.g. a job that failed).
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            ok, last = probe()
        except Finished as exc:
            pytest.fail(f"{what}: {exc}")
        if ok:
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last state: {last}")
        time.sleep(POLL_S)
