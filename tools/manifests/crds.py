"""Where the CustomResourceDefinitions the checker validates against come from.

For each set (KubeRay's ray.io kinds, prometheus-operator's monitoring.coreos.com
kinds), at the versions of versions.env, in this order:

1. the directory its variable names (KUBERAY_CRDS_DIR, PROMETHEUS_OPERATOR_CRDS_DIR);
2. ``../shared/<project>/<version>/crds`` beside the checkout, where it exists;
3. a cache (``$RAY101_CACHE_DIR``, else ``$XDG_CACHE_HOME/ray101``, else
   ``~/.cache/ray101``), filled once from the project's release tag on GitHub.

So a fresh clone runs ``make test`` and ``make lint`` with no setup step;
offline, point the variables at copies of the files.

    python -m tools.manifests.crds     # print each directory (downloading once if needed)
"""

from __future__ import annotations

import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tools.chart import REPO_ROOT, read_env


class SchemaSetupError(RuntimeError):
    """The schemas themselves are missing or unusable (not a finding in a manifest)."""


@dataclass(frozen=True)
class CrdSet:
    name: str
    env: str
    # "kuberay/v1.7.0": the folder under ../shared and in the cache
    folder: str
    # where file NAME is downloaded from: f"{base_url}/{NAME}"
    base_url: str
    files: tuple[str, ...]


def crd_sets(versions: dict[str, str]) -> list[CrdSet]:
    kuberay = f"v{versions['KUBERAY_VERSION'].removeprefix('v')}"
    prometheus = f"v{versions['PROMETHEUS_OPERATOR_VERSION'].removeprefix('v')}"
    return [
        CrdSet(
            "KubeRay",
            "KUBERAY_CRDS_DIR",
            f"kuberay/{kuberay}",
            f"https://raw.githubusercontent.com/ray-project/kuberay/{kuberay}/ray-operator/config/crd/bases",
            tuple(f"ray.io_{k}.yaml" for k in ("rayclusters", "rayjobs", "rayservices")),
        ),
        CrdSet(
            "prometheus-operator",
            "PROMETHEUS_OPERATOR_CRDS_DIR",
            f"prometheus-operator/{prometheus}",
            "https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/"
            f"{prometheus}/example/prometheus-operator-crd",
            tuple(
                f"monitoring.coreos.com_{k}.yaml"
                for k in ("podmonitors", "prometheusrules", "servicemonitors")
            ),
        ),
    ]


def cache_root() -> Path:
    if os.environ.get("RAY101_CACHE_DIR"):
        return Path(os.environ["RAY101_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ray101"


def shared_dir(crds: CrdSet) -> Path:
    return REPO_ROOT.parent / "shared" / crds.folder / "crds"


def _complete(directory: Path, crds: CrdSet) -> bool:
    return all((directory / name).is_file() for name in crds.files)


def fetch(crds: CrdSet, directory: Path, timeout: float = 30) -> None:
    """Download every file of ``crds`` into ``directory`` (each written whole or not at all)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in crds.files:
        url = f"{crds.base_url}/{name}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - https URL built above
                body = response.read()
        except OSError as exc:
            raise SchemaSetupError(
                f"could not download the {crds.name} CRD {url} ({exc}); set {crds.env} to a "
                f"directory holding {', '.join(crds.files)}"
            ) from None
        if b"kind: CustomResourceDefinition" not in body:
            raise SchemaSetupError(f"{url} is not a CustomResourceDefinition")
        partial = directory / f"{name}.part"
        partial.write_bytes(body)
        partial.replace(directory / name)


def locate(crds: CrdSet, *, cache: Path | None = None, shared: Path | None = None) -> Path:
    """The directory holding ``crds``: the variable, ../shared, or the cache (fetched once)."""
    given = os.environ.get(crds.env)
    if given:
        directory = Path(given)
        if not _complete(directory, crds):
            raise SchemaSetupError(
                f"no {crds.name} CRDs in {directory}: {crds.env} must name the directory holding "
                f"{', '.join(crds.files)} (unset it to use ../shared or download them once)"
            )
        return directory
    shared = shared if shared is not None else shared_dir(crds)
    if _complete(shared, crds):
        return shared
    directory = (cache or cache_root()) / crds.folder
    if not _complete(directory, crds):
        fetch(crds, directory)
    return directory


def directories(versions: dict[str, str]) -> list[Path]:
    return [locate(crds) for crds in crd_sets(versions)]


def main() -> int:
    versions = read_env(REPO_ROOT / "versions.env")
    try:
        for crds in crd_sets(versions):
            print(f"{crds.env}={locate(crds)}")
    except SchemaSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
