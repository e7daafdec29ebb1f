"""python -m tools.docs_check: exit 1, one line per problem, when a page drifted from the code."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tools.docs_check.check import (
    Problem,
    command_problems,
    make_help_targets,
    undocumented_script_flags,
)
from tools.docs_check.extract import commands

# A Markdown link to a file of the repository: [text](path) or [text](path#anchor).
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
# A repository path in inline code: `jobs/mongo/data.py` (scripts/ are checked as commands).
PATH = re.compile(r"`((?:jobs|tools|tests|helm|k8s|images|docs|\.github)/[^`\s]*)`")

ROOT = Path(__file__).resolve().parents[2]


def pages(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md")), root / "tests" / "README.md"]


def readme_problems(root: Path) -> list[Problem]:
    """Every docs page is linked from the README; the README names every make target."""
    readme = (root / "README.md").read_text(encoding="utf-8")
    problems = [
        Problem("README.md", 1, f"docs/{page.name}", "page not linked from the README")
        for page in sorted((root / "docs").glob("*.md"))
        if f"](docs/{page.name}" not in readme
    ]
    named = {
        c.words[1]
        for c in commands(root / "README.md", root)
        if c.words[0] == "make" and len(c.words) > 1
    }
    problems += [
        Problem("README.md", 1, f"make {t}", "make target not named in the README")
        for t in make_help_targets(root)
        if t not in named
    ]
    return problems


def link_problems(page: Path, root: Path) -> list[Problem]:
    """Relative links and repository paths in inline code that name no file
    (a page, module or script renamed or removed)."""
    found = []
    rel = page.relative_to(root).as_posix()
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        for target in LINK.findall(line):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                found.append(Problem(rel, number, target, "the link names no file"))
        for named in PATH.findall(line):
            if any(c in named for c in "<>*{}…$"):
                continue  # a pattern or placeholder, not one file
            path = root / named.split(":")[0].rstrip("/,.")
            # A git-ignored file made from its committed example (secret.env).
            if not path.exists() and not path.with_name(path.name + ".example").exists():
                found.append(Problem(rel, number, named, "no such file in the repository"))
    return found


def problems(root: Path = ROOT) -> tuple[int, list[Problem]]:
    """(the number of commands checked, what is wrong)."""
    found, checked = [], 0
    for page in pages(root):
        for command in commands(page, root):
            checked += 1
            found += command_problems(command, root)
        found += link_problems(page, root)
    return checked, found + readme_problems(root) + undocumented_script_flags(root)


def main() -> int:
    checked, found = problems()
    for problem in found:
        print(problem)
    print(f"docs: {checked} commands checked, {len(found)} problem(s)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
