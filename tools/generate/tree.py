"""Every generated file, and the tree compared with or made what it should be."""

from __future__ import annotations

import difflib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tools.chart import REPO_ROOT
from tools.generate import kustomize
from tools.generate.values import fill_blocks, values_blocks


def expected(root: Path = REPO_ROOT) -> dict[Path, str]:
    """Every generated file (path relative to the repository) -> its text."""
    files: dict[Path, str] = {}
    chart_dir = root / "helm" / "ray101"
    for name, blocks in values_blocks().items():
        path = chart_dir / name
        files[path.relative_to(root)] = fill_blocks(path.read_text(), blocks, str(path))
    # The chart is rendered with the values as they are about to be written.
    with tempfile.TemporaryDirectory(prefix="ray101-chart-") as tmp:
        copy = Path(tmp) / "ray101"
        shutil.copytree(chart_dir, copy)
        for rel, text in files.items():
            (copy / rel.name).write_text(text)
        for rel, text in kustomize.tree(copy).items():
            files[Path("k8s") / rel] = text
    return files


def stale_files(root: Path, wanted: dict[Path, str]) -> Iterator[Path]:
    """YAML files in the generated folders of k8s/ that no longer come out of the chart."""
    for folder in kustomize.GENERATED_DIRS:
        for path in sorted((root / "k8s" / folder).rglob("*.yaml")):
            rel = path.relative_to(root)
            if rel not in wanted:
                yield rel


def differences(root: Path = REPO_ROOT) -> list[str]:
    """One message per generated file that is not what `make manifests` writes."""
    wanted = expected(root)
    found = []
    for rel, text in wanted.items():
        path = root / rel
        have = path.read_text() if path.exists() else None
        if have is None:
            found.append(f"{rel}: missing")
        elif have != text:
            diff = difflib.unified_diff(
                have.splitlines(),
                text.splitlines(),
                f"{rel} (in the tree)",
                f"{rel} (generated)",
                lineterm="",
                n=1,
            )
            found.append(
                f"{rel}: differs from what `make manifests` writes:\n" + "\n".join(list(diff)[:40])
            )
    found += [f"{rel}: not generated any more (delete it)" for rel in stale_files(root, wanted)]
    return found


def write(root: Path = REPO_ROOT) -> list[str]:
    """Write every generated file, remove the stale ones; return what changed."""
    wanted = expected(root)
    changed = []
    for rel in stale_files(root, wanted):
        (root / rel).unlink()
        changed.append(f"removed {rel}")
        folder = (root / rel).parent
        while folder != root and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    for rel, text in wanted.items():
        path = root / rel
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(f"wrote {rel}")
    return changed
