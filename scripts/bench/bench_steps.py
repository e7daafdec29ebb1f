"""The steps of ``make bench``, written once: what each runs, its time limit, and the
figures (JSON files, each with its PNG beside it) it writes. scripts/bench/run.py
runs them; scripts/bench/report.py reads the figures they name."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Step:
    name: str
    # What a reader types (shown in the report); run as `python -m jobs.cli ...`
    # or, for a script, `python <script> ...`. "{out}" stands for where it writes.
    command: tuple[str, ...]
    limit_s: int
    # Figure name -> its JSON, relative to the results directory.
    figures: dict[str, str] = field(default_factory=dict)
    out_subdir: str = ""

    def where(self, out: Path) -> Path:
        return out / self.out_subdir if self.out_subdir else out

    def argv(self, out: Path) -> list[str]:
        args = [str(self.where(out)) if a == "{out}" else a for a in self.command[1:]]
        if self.command[0] == "ray101":
            return [sys.executable, "-m", "jobs.cli", *args]
        return [sys.executable, self.command[0], *args]

    def shown(self, out: Path) -> str:
        return " ".join(_relative(self.where(out)) if a == "{out}" else a for a in self.command)


def _relative(path: Path) -> str:
    try:
        return f"{path.resolve().relative_to(REPO_ROOT)}/"
    except ValueError:
        return f"{path}/"


def _one(name: str, *command: str, limit_s: int, json: str = "") -> Step:
    return Step(name, command, limit_s, {name: json or f"{name}.json"})


# In this order, one at a time; together under 15 minutes on a 2-core machine.
STEPS: tuple[Step, ...] = (
    _one("retrieve", "ray101", "run", "retrieve", "--out", "{out}", limit_s=180),
    # ray101's cold first round beside the tutorial's, three fresh processes each.
    Step("retrieve-cold", ("scripts/bench/retrieve_cold.py", "--out", "{out}"), 300,
         {"retrieve-cold": "cold/retrieve-cold.json"}, out_subdir="cold"),
    _one("dependencies", "ray101", "run", "dependencies", "--out", "{out}", limit_s=180),
    _one("overhead", "ray101", "run", "overhead", "--out", "{out}", limit_s=240),
    _one("mongo", "ray101", "run", "mongo", "--standin", "--out", "{out}", limit_s=180),
    _one("echo", "ray101", "loadtest", "--baseline", "--rounds", "3", "--out", "{out}",
         limit_s=240, json="loadtest.json"),
    Step("tune", ("scripts/bench/tune_compare.py", "--out", "{out}"), 500,
         {"tune": "tune.json", "tune-compare": "tune-compare.json"}),
)  # fmt: skip

# Every figure, by name: the JSON it is read from, and the step that writes it.
FIGURES: dict[str, str] = {k: v for step in STEPS for k, v in step.figures.items()}
STEP_OF: dict[str, str] = {k: step.name for step in STEPS for k in step.figures}
