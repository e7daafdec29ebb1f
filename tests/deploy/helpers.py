"""Helpers of the deployment tests: find an object, copy a rendering with one
object changed, render the chart with some values."""

from __future__ import annotations

import base64
import copy

from tools.manifests import render
from tools.manifests.model import Problem, Rendered

SOURCES = [*render.CHART_VALUES, *render.OVERLAYS]


def _report(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


def _obj(r: Rendered, kind: str, name: str) -> dict:
    obj = r.find(kind, name)
    assert obj is not None, f"{r.source} renders no {kind}/{name}"
    return obj


def _mutated(r: Rendered, kind: str, name: str, change) -> Rendered:
    """A copy of a rendering with one object changed."""
    copied = copy.deepcopy(r)
    change(_obj(copied, kind, name))
    return copied


def _render(values: dict) -> Rendered:
    return render.render_chart("helm:test", values)


def _secret_uri(change):
    """A change to the `uri` key of the MongoDB Secret (base64 in data)."""

    def edit(secret):
        uri = base64.b64decode(secret["data"]["uri"]).decode()
        secret["data"]["uri"] = base64.b64encode(change(uri).encode()).decode()

    return edit
