"""What `ray job submit --working-dir` uploads from a checkout (scripts/submit's
RayJobs and `ray101 submit`): the jobs package only, never .git, whether the
checkout is a clone or a git worktree."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from tests.support import REPO_ROOT


def _uploaded_tops(directory: Path, package: Path) -> set[str]:
    """The top-level names of what `ray job submit --working-dir DIRECTORY` uploads
    (.rayignore and .gitignore apply)."""
    from jobs.runtime import ray_internals

    ray_internals.create_working_dir_package(directory, package)
    return {name.split("/")[0] for name in zipfile.ZipFile(package).namelist()}


def test_job_upload_is_only_the_jobs_package(tmp_path):
    tops = _uploaded_tops(REPO_ROOT, tmp_path / "working_dir.zip")
    assert "jobs" in tops
    assert not tops & {".git", ".venv", "k8s", "helm", "tests", "tools", "images", "results"}


@pytest.mark.parametrize("git", ["clone", "worktree"])
def test_job_upload_leaves_out_git_in_a_clone_and_a_worktree(tmp_path, git):
    # A clone's .git is a folder; a `git worktree`'s is a file naming the real one.
    checkout = tmp_path / "checkout"
    (checkout / "jobs").mkdir(parents=True)
    (checkout / "jobs" / "__init__.py").write_text("")
    shutil.copy(REPO_ROOT / ".rayignore", checkout / ".rayignore")
    if git == "clone":
        (checkout / ".git").mkdir()
        (checkout / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    else:
        (checkout / ".git").write_text("gitdir: /elsewhere/.git/worktrees/checkout\n")
    tops = _uploaded_tops(checkout, tmp_path / "working_dir.zip")
    assert "jobs" in tops and ".git" not in tops
