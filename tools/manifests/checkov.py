"""checkov over every rendering: the Kubernetes security policies (probes,
privileges, capabilities, service-account tokens, network policies, ...) that
the project does not write itself.

checkov runs from its own virtualenv (``.venv-checkov``: the Makefile's
``$(CHECKOV_STAMP)`` target, ``make .venv-checkov/.installed``, which ``make
setup``, ``make lint`` and ``make test`` depend on; pinned in
versions.env and constraints-checkov.txt; its pins conflict with Ray's) and
offline: ``--skip-download`` and ``BC_SKIP_MAPPING`` keep it from fetching
policies and ID mappings from the Prisma Cloud platform. A finding the project
accepts is skipped on the object with ``checkov.io/skipN: ID=reason``
(templates/_security.tpl, ray101.checkovSkips); a skip without a reason is a problem.

checkov does not look inside RayCluster, RayJob and RayService pod templates:
the tools/manifests/checks/ package covers those.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tools.chart import REPO_ROOT
from tools.manifests.model import Problem, Rendered

VENV = REPO_ROOT / ".venv-checkov"
# The Makefile's target that makes VENV ($(CHECKOV_STAMP)).
STAMP = f"{VENV.name}/.installed"
# Offline: no policy download, no platform ID mapping, no PyPI update check.
OFFLINE_ENV = {
    "BC_SKIP_MAPPING": "TRUE",
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "True",
    "CKV_GITHUB_CONFIG_FETCH_DATA": "False",
}
NO_REASON = "No comment provided"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    version: str = ""


def executable() -> str | None:
    """CHECKOV (a path), else .venv-checkov, else checkov on PATH."""
    candidates = [os.environ.get("CHECKOV"), str(VENV / "bin" / "checkov"), shutil.which("checkov")]
    return next((c for c in candidates if c and Path(c).is_file()), None)


def _file_name(source: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", source) + ".yaml"


def scan(renderings: Iterable[Rendered], timeout: float = 300) -> Report:
    """One checkov run over every rendering (a file each); a problem per failed
    check, per skip without a reason, or for checkov itself failing."""
    report = Report()
    renderings = list(renderings)
    binary = executable()
    if binary is None:
        report.problems.append(
            Problem(
                "checkov",
                "",
                "",
                "",
                f"checkov is not installed: run `make {STAMP}` (or set CHECKOV to its path)",
            )
        )
        return report
    by_file = {_file_name(r.source): r for r in renderings}
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ray101-checkov-") as tmp:
        for name, r in by_file.items():
            (Path(tmp) / name).write_text(yaml.safe_dump_all(r.all_objects(), sort_keys=False))
        proc = subprocess.run(
            [binary, "-d", tmp, "--framework", "kubernetes", "--skip-download", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **OFFLINE_ENV},
        )
    report.seconds = time.monotonic() - start
    try:
        answer = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = (proc.stderr or proc.stdout).strip()[-1500:]
        report.problems.append(Problem("checkov", "", "", "", f"checkov failed: {tail}"))
        return report
    answer = answer[0] if isinstance(answer, list) else answer
    summary = answer.get("summary", {})
    report.passed, report.failed = summary.get("passed", 0), summary.get("failed", 0)
    report.skipped, report.version = summary.get("skipped", 0), summary.get("checkov_version", "")
    results = answer.get("results", {})
    for check in results.get("failed_checks", []):
        report.problems.append(
            _problem(check, by_file, f"checkov {check['check_id']}: {check['check_name']}")
        )
    for check in results.get("skipped_checks", []):
        reason = (check.get("check_result") or {}).get("suppress_comment") or NO_REASON
        if reason == NO_REASON:
            report.problems.append(
                _problem(check, by_file, f"checkov {check['check_id']} is skipped without a reason")
            )
    for error in results.get("parsing_errors", []):
        report.problems.append(Problem("checkov", "", "", "", f"checkov could not parse {error}"))
    return report


def _problem(check: dict, by_file: dict[str, Rendered], message: str) -> Problem:
    """Name the rendering and the object: checkov's resource is KIND.NAMESPACE.NAME."""
    rendering = by_file.get(Path(check.get("file_path", "")).name)
    kind, _, rest = check.get("resource", "").partition(".")
    name = rest.rpartition(".")[2] if "." in rest else rest
    source = rendering.source if rendering else "checkov"
    return Problem(source, kind, name, "", message)
