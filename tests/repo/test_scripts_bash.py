"""scripts/ as bash: strict, executable entry scripts; topic files of scripts/lib/
that say their subject and needs, sourced in an order that gives each what it
needs; each function defined once; bash -n and shellcheck clean."""

from __future__ import annotations

import itertools
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.repo.scripts_support import COMMANDS, LIB_DIR, SCRIPTS_DIR

# The entry scripts: every file directly in scripts/ (what they source is in scripts/lib/).
ENTRY_SCRIPTS = sorted(p for p in SCRIPTS_DIR.iterdir() if p.is_file())
BASH_FILES = [*sorted(LIB_DIR.glob("*.sh")), *(SCRIPTS_DIR / name for name in COMMANDS)]
STRICT = "set -o errexit -o nounset -o pipefail"


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_executable_strict_bash(name):
    path = SCRIPTS_DIR / name
    text = path.read_text()
    assert path.stat().st_mode & stat.S_IXUSR, f"scripts/{name} is not executable"
    assert text.startswith("#!/usr/bin/env bash\n")
    assert STRICT in text
    assert 'REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"' in text
    assert 'source "${REPO_ROOT}/scripts/lib/common.sh"' in text


def _sourced_topics(path: Path) -> list[str]:
    return re.findall(
        r'^source "\$\{REPO_ROOT\}/scripts/lib/([\w-]+)\.sh"$', path.read_text(), re.M
    )


def _needs(topic_file: Path) -> list[str]:
    """The topic files a scripts/lib/ file says (in its header) it needs sourced first."""
    header = " ".join(
        line.lstrip("# ")
        for line in itertools.takewhile(
            lambda line: line.startswith("#"), topic_file.read_text().splitlines()
        )
    )
    match = re.search(r"Needs (.+?)\.(?:\s|$)", header)
    return re.findall(r"([\w-]+)\.sh", match.group(1)) if match else []


def test_every_topic_file_says_its_subject_and_needs():
    for path in sorted(LIB_DIR.glob("*.sh")):
        text = path.read_text()
        assert text.startswith("# shellcheck shell=bash\n"), path.name
        assert f"# scripts/lib/{path.name}: " in text.split("\n\n")[0], f"{path.name}: no subject"
        if path.name != "common.sh":
            assert "common" in _needs(path), f"{path.name}: names no needs (common.sh first)"


@pytest.mark.parametrize("path", ENTRY_SCRIPTS, ids=lambda p: p.name)
def test_each_script_sources_what_its_topic_files_need_first(path):
    sourced = _sourced_topics(path)
    assert sourced and sourced[0] == "common", "scripts/lib/common.sh is sourced first"
    assert len(set(sourced)) == len(sourced), f"a topic file sourced twice: {sourced}"
    for i, topic in enumerate(sourced):
        missing = set(_needs(LIB_DIR / f"{topic}.sh")) - set(sourced[:i])
        assert not missing, f"{topic}.sh needs {sorted(missing)} sourced before it"


def test_every_function_is_defined_once():
    """One source per fact: each function is defined once in scripts/. The
    topic files share none, and no entry script defines one of theirs or
    another script's, but for main, parse_args and cleanup: the shape that
    scripts/e2e-kind and scripts/offline-images share (kind's hack/ci/e2e.sh)."""
    defined: dict[str, list[str]] = {}
    for path in [*sorted(LIB_DIR.glob("*.sh")), *ENTRY_SCRIPTS]:
        for name in re.findall(
            r"^\s*(?:function\s+)?([A-Za-z_]\w*)\s*\(\)", path.read_text(), re.M
        ):
            defined.setdefault(name, []).append(str(path.relative_to(SCRIPTS_DIR)))
    twice = {
        name: where
        for name, where in defined.items()
        if len(where) > 1
        and (name not in ("main", "parse_args", "cleanup") or any("/" in w for w in where))
    }
    assert not twice, f"defined more than once: {twice}"


@pytest.mark.parametrize("path", BASH_FILES, ids=lambda p: p.name)
def test_bash_parses(path):
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_shellcheck_is_clean():
    if shutil.which("shellcheck") is None:
        pytest.skip(
            "shellcheck is not installed: .ci/run must install it "
            "(apt-get install -y shellcheck) so that this check runs in CI"
        )
    result = subprocess.run(
        ["shellcheck", "--external-sources", "--source-path=SCRIPTDIR", *map(str, BASH_FILES)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
