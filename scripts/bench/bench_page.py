"""The parts docs/benchmarks.md is built of: a Page that gathers the sections'
lines and the headline rows, markdown tables, and how a figure and a goal's
verdict are written. scripts/bench/report.py and bench_sections.py use them."""

from __future__ import annotations

from typing import Any

from bench_steps import STEP_OF


def verdict(met: bool | None) -> str:
    return "–" if met is None else ("met" if met else "**missed**")


def at_most(value: float | None, goal: float) -> bool | None:
    return None if value is None else value <= goal


def at_least(value: float | None, goal: float) -> bool | None:
    return None if value is None else value >= goal


def s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def dig(data: dict | None, *keys: str) -> Any:
    """``data[k1][k2]…``, or None where any level is missing."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


class Page:
    def __init__(self, figures: dict[str, dict], record: dict, assets: set[str]) -> None:
        self.figures, self.assets = figures, assets
        self.steps: dict[str, dict] = record.get("steps", {})
        self.lines: list[str] = []
        self.headline: list[list[str]] = []

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def goal(self, what: str, tutorial: str, ours: str, goal: str, met: bool | None) -> None:
        self.headline.append([what, tutorial, ours, goal, verdict(met)])

    def section(self, heading: str, key: str, title: str) -> dict | None:
        """A ``##`` heading, then :meth:`figure`."""
        self.add(f"## {heading}", "")
        return self.figure(key, title)

    def figure(self, key: str, title: str) -> dict | None:
        """The section's heading, command and plot; its JSON, or None (said so) when absent."""
        step = self.steps.get(STEP_OF.get(key, key), {})
        self.add(f"### {title}", "")
        if step.get("command"):
            self.add(
                f"`{step['command']}` ({step.get('status', '?')}, {step.get('seconds', '?')} s)", ""
            )
        data = self.figures.get(key)
        if data is None:
            self.add(f"Not measured in this run ({step.get('status', 'not run')}).", "")
            return None
        load = dig(data, "environment", "load_average_1m")
        link = f"[JSON](benchmarks/{key}.json)"
        self.add(f"{link}; load average when written: {load if load is not None else '?'}.", "")
        if f"{key}.png" in self.assets:
            self.add(f"![{title}](benchmarks/{key}.png)", "")
        return data


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]
