"""The workload protocol: every registered workload provides it, and the
registry refuses a module that does not, naming it."""

from __future__ import annotations

import sys
import types

import pytest

from jobs import registry
from jobs.runtime.runner import WorkloadModule


@pytest.mark.parametrize("workload", registry.WORKLOADS.values(), ids=lambda w: w.name)
def test_every_registered_workload_provides_the_protocol(workload):
    module = workload.load()
    assert isinstance(module, WorkloadModule)
    assert workload.name == module.NAME


def fake_workload(**names) -> types.ModuleType:
    module = types.ModuleType("ray101_fake_workload")
    module.NAME = "fake"
    module.add_arguments = lambda parser: None
    module.run = lambda args, ctx: None
    module.preflight = None
    module.plot = None
    for name, value in names.items():
        if value is None:
            delattr(module, name)
    return module


@pytest.mark.parametrize("missing", ["NAME", "add_arguments", "run", "preflight", "plot"])
def test_a_module_missing_a_name_is_refused(monkeypatch, missing):
    monkeypatch.setitem(sys.modules, "ray101_fake_workload", fake_workload(**{missing: None}))
    entry = registry.Workload("fake", "ray101_fake_workload", "a module without " + missing)
    with pytest.raises(TypeError, match="ray101_fake_workload is not a workload module"):
        entry.load()


def test_a_module_with_every_name_loads(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray101_fake_workload", fake_workload())
    assert registry.Workload("fake", "ray101_fake_workload", "complete").load().NAME == "fake"
