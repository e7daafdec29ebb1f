"""The documentation's commands parse against the code (tools/docs_check), and the
checker catches a page that drifted: a made-up flag, subcommand, target or page."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jobs.echo.config import rayservice_serve_config
from tests.support import REPO_ROOT
from tools.docs_check.__main__ import problems
from tools.docs_check.check import make_help_targets
from tools.docs_check.extract import commands


def test_every_documented_command_parses_and_every_page_is_linked():
    checked, found = problems(REPO_ROOT)
    assert checked > 100, "the extractor found too few commands: it no longer reads the pages"
    assert found == [], "\n".join(map(str, found))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with the real Makefile and scripts, and pages of the test's own."""
    shutil.copy(REPO_ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copytree(REPO_ROOT / "scripts", tmp_path / "scripts")
    (tmp_path / "docs").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "README.md").write_text("# tests\n")
    targets = " ".join(f"`make {t}`" for t in make_help_targets(REPO_ROOT))
    (tmp_path / "README.md").write_text(f"# r\n\n{targets}\n\n[page](docs/page.md)\n")
    return tmp_path


def _page(repo: Path, text: str) -> list[str]:
    (repo / "docs" / "page.md").write_text(text)
    return [str(p) for p in problems(repo)[1]]


def test_correct_commands_pass(repo):
    text = """# page
```bash
.venv/bin/ray101 run mongo --standin --movies 2000 --comments 4000 --out results/
RAY_ADDRESS=auto ray101 submit retrieve --json && ray101 cluster status
ray101 cluster up --workers 2 \\
    --values helm/ray101/values-kind.yaml
python -m jobs.tune --num-samples 4
scripts/deploy --kustomize
scripts/local-cluster start --workers 1
make e2e PYTEST_ARGS=-x
```
Synopsis: `ray101 data load [--uri URI] [--db sample_mflix]`, `ray101 wait data|bucket`,
`ray101 run all --only retrieve dag`, `ray101 run NAME --help`.
"""
    assert _page(repo, text) == []


def test_a_made_up_flag_is_named_with_its_file_and_line(repo):
    found = _page(repo, "# page\n\ntext\n\n```bash\nray101 run retrieve --jsn\n```\n")
    assert len(found) == 1
    assert found[0].startswith("docs/page.md:6: ray101 run retrieve --jsn:")
    assert "no flag --jsn" in found[0]


@pytest.mark.parametrize(
    ("line", "bad"),
    [
        ("`ray101 cluster up --replicas 2`", "--replicas"),  # a flag of the subcommand's parser
        ("`ray101 cluster status --workers 2`", "--workers"),  # up's flag, not status's
        ("`ray101 cluster restart`", "'restart'"),
        ("`ray101 submit retrieve --bogus`", "--bogus"),  # the workload's flags, through submit
        ("`ray101 run nothing`", "'nothing'"),
        ("`ray101 launch`", "'launch'"),
        ("`python -m jobs.mongo --movie 3`", "--movie"),  # a prefix of --movies is not enough
        ("`python -m jobs.nothing`", "jobs.nothing"),
        ("`make kind`", "'kind'"),
        ("`scripts/deploy --helmet`", "--helmet"),
        ("`scripts/fetch-crds`", "scripts/fetch-crds"),
        ("`scripts/local-cluster status --workers 3`", "--workers"),
    ],
)
def test_a_wrong_command_is_reported(repo, line, bad):
    found = _page(repo, f"# page\n\n{line}\n")
    assert len(found) == 1, found
    assert found[0].startswith("docs/page.md:3:") and bad in found[0]


def test_an_unlinked_page_and_an_unnamed_target_are_reported(repo):
    (repo / "docs" / "orphan.md").write_text("# orphan\n")
    readme = (repo / "README.md").read_text().replace("`make clean`", "")
    (repo / "README.md").write_text(readme)
    found = _page(repo, "# page\n")
    assert any("docs/orphan.md" in p and "not linked" in p for p in found), found
    assert any("make clean" in p and "not named" in p for p in found), found


def test_a_flag_a_script_accepts_but_never_documents_is_reported(repo):
    script = repo / "scripts" / "deploy"
    script.write_text(script.read_text().replace("--kustomize) mode=kustomize ;;",
                                                 "--kustomize) mode=kustomize ;;\n    --quiet) ;;"))  # fmt: skip
    found = _page(repo, "# page\n")
    assert any(p.startswith("scripts/deploy:") and "--quiet" in p for p in found), found


def test_yaml_blocks_and_prose_names_are_not_commands(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("`ray101` and `ray101-echo`\n```yaml\nentrypoint: ray101 run bogus\n```\n")
    assert commands(page, tmp_path) == []


def test_make_lint_runs_the_checker():
    assert "tools.docs_check" in (REPO_ROOT / "Makefile").read_text()


def test_the_checker_exits_1_and_prints_each_problem(repo):
    (repo / "docs" / "page.md").write_text("`ray101 run dag --nope`\n")
    tools = repo / "tools"
    shutil.copytree(REPO_ROOT / "tools" / "docs_check", tools / "docs_check")
    shutil.copy(REPO_ROOT / "tools" / "python_main.py", tools / "python_main.py")
    (tools / "__init__.py").write_text("")
    done = subprocess.run([sys.executable, "-m", "tools.docs_check"], cwd=repo, capture_output=True,
                          text=True, env={"PYTHONPATH": f"{repo}:{REPO_ROOT}", "PATH": "/usr/bin:/bin"},
                          timeout=300)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "docs/page.md:1: ray101 run dag --nope: no flag --nope" in done.stdout


def test_echo_page_shows_the_serve_config_the_rayservices_deploy():
    text = (REPO_ROOT / "docs" / "echo.md").read_text()
    (block,) = re.findall(r"```yaml\nserveConfigV2: \|\n(.*?)```", text, re.S)
    assert yaml.safe_load(block) == rayservice_serve_config()


def test_a_link_to_a_missing_file_is_reported(repo):
    found = _page(repo, "# page\n\nSee [the old page](gone.md#part) and [ok](../README.md).\n")
    assert found == ["docs/page.md:3: gone.md: the link names no file"]


def test_a_repository_path_that_does_not_exist_is_reported(repo):
    (repo / "jobs").mkdir()
    (repo / "jobs" / "real.py").write_text("")
    found = _page(repo, "# page\n\n`jobs/real.py` and `jobs/renamed.py`, `jobs/<name>.py`\n")
    assert found == ["docs/page.md:3: jobs/renamed.py: no such file in the repository"]


def test_resources_page_states_the_kind_budget_of_kind_md():
    budget = (
        r"Docker needs\s+\*\*(\d+) GiB of memory and (\d+) CPUs\*\*",
        r"the pods request about (\d+) GiB\s+and ([\d.]+) CPUs",
    )
    kind = (REPO_ROOT / "docs" / "kind.md").read_text()
    resources = (REPO_ROOT / "docs" / "resources.md").read_text()
    for pattern in budget:
        stated = re.search(pattern, kind)
        assert stated, f"docs/kind.md no longer says {pattern!r}"
        copied = re.search(pattern, resources)
        assert copied and copied.groups() == stated.groups(), pattern


def test_a_synopsis_continuation_line_is_checked_with_its_command(repo):
    text = (
        "# page\n\n```\nray101 run tune [--samples 1000]\n    [--max-epochs 10] [--epochs 3]\n```\n"
    )
    found = _page(repo, text)
    assert len(found) == 1 and found[0].startswith("docs/page.md:4: ray101 run tune")
    assert "no flag --epochs" in found[0]


def test_inline_code_across_lines_and_synopsis_alternatives_are_checked(repo):
    text = (
        "# page\n\nThe synopsis `ray101 loadtest [--duration S | --requests N]\n[--bogus]` here.\n"
    )
    found = _page(repo, text)
    assert len(found) == 1 and found[0].startswith("docs/page.md:3:"), found
    assert "no flag --bogus" in found[0]


# A measured figure in the README: requests per second, a share or a ratio.
README_FIGURE = re.compile(r"\d[\d,.]*\s*(?:req/s|%|×)")


def test_the_readme_quotes_only_figures_the_benchmark_page_shows():
    """Figures drift when they are copied: the README may quote a measured figure
    (or a goal) only as the committed docs/benchmarks.md states it."""
    page = re.sub(r"\s+", "", (REPO_ROOT / "docs" / "benchmarks.md").read_text())
    readme = (REPO_ROOT / "README.md").read_text()
    quoted = [m.group(0) for m in README_FIGURE.finditer(readme)]
    assert quoted, "the README names no goal or figure: the pattern no longer reads it"
    assert [q for q in quoted if re.sub(r"\s+", "", q) not in page] == []
