"""The renderings and validators every deployment test shares (one per session)."""

from __future__ import annotations

import pytest

from tools import chart
from tools.manifests import checks, render, schemas
from tools.manifests import crds as crd_dirs
from tools.manifests.model import Rendered


@pytest.fixture(scope="session")
def versions() -> dict[str, str]:
    return chart.versions()


@pytest.fixture(scope="session")
def ctx(versions) -> checks.Context:
    return checks.load_context(versions)


@pytest.fixture(scope="session")
def rendered() -> dict[str, Rendered]:
    renderings, problems = render.render_all()
    assert not problems, "\n".join(map(str, problems))
    return {r.source: r for r in renderings}


@pytest.fixture(scope="session")
def kubernetes(versions) -> schemas.KubernetesValidator:
    return schemas.KubernetesValidator(versions["KUBERNETES_VERSION"])


@pytest.fixture(scope="session")
def crds(kubernetes) -> schemas.CrdValidator:
    return schemas.CrdValidator(crd_dirs.directories(chart.versions()), kubernetes)
