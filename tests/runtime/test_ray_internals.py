"""Every private Ray name ray101 uses still exists in the installed Ray, and no
module outside jobs/runtime/ray_internals.py imports a private Ray module."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from jobs.runtime import ray_internals
from tests.support import REPO_ROOT

PRIVATE_IMPORT = re.compile(r"^\s*(from|import)\s+ray(\.[A-Za-z0-9_]+)*\._[A-Za-z]", re.MULTILINE)


@pytest.mark.parametrize(("module", "name"), ray_internals.PRIVATE_NAMES)
def test_private_name_exists(module, name):
    assert hasattr(importlib.import_module(module), name), (
        f"{module}.{name} is gone from this Ray: update jobs/runtime/ray_internals.py"
    )


def test_a_missing_name_fails_with_a_clear_message():
    with pytest.raises(ray_internals.RayInternalsChanged, match=r"ray\._private\.worker\.no_such"):
        ray_internals._attr("ray._private.worker", "no_such")


def test_private_imports_only_in_ray_internals():
    offenders = []
    for path in [
        *REPO_ROOT.glob("jobs/**/*.py"),
        *REPO_ROOT.glob("tests/**/*.py"),
        *REPO_ROOT.glob("scripts/**/*.py"),
        *REPO_ROOT.glob("tools/**/*.py"),
    ]:
        if path.name == "ray_internals.py" or path == Path(__file__).resolve():
            continue
        text = path.read_text()
        if PRIVATE_IMPORT.search(text) or "ray._private" in text or "serve._private" in text:
            offenders.append(str(path.relative_to(REPO_ROOT)))
    assert not offenders, f"private Ray APIs outside jobs/runtime/ray_internals.py: {offenders}"


def test_application_from_import_path_builds_the_echo_app():
    from ray.serve import Application

    assert isinstance(ray_internals.application_from_import_path("jobs.echo:app"), Application)
