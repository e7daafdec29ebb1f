"""ray101's cold first parallel round against the tutorial's, in one session.

Each repeat runs two fresh processes, one after the other (the order alternates,
so a slow spell on a shared machine hits both), each with its own local Ray of
``--num-cpus`` CPUs:

- the tutorial's code (scripts/bench/retrieve_tutorial.py): ``ray.init()``, then
  six one-second retrievals at once;
- ``ray101 run retrieve --cold``: its first parallel round, which starts the
  worker processes the round needs, after the sequential baseline.

Printed and saved (``--out``, default results/): every run's seconds, the medians
and their ratio, as retrieve-cold.json and a PNG of the runs. ray101's own JSON
and timeline plot of its last run go beside them.

Exit status: 0 when ray101's median is at most the tutorial's, 1 when not.

Run: .venv/bin/python scripts/bench/retrieve_cold.py [--num-cpus 2] [--repeat 3] [--out results]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from bench_process import timed_process  # noqa: E402

from jobs.runtime.result import save_figure, subplots  # noqa: E402

NAME = "retrieve-cold"
# ray101's cold first round over the tutorial's, medians of the same session: at most.
GOAL_RATIO = 1.0


def _run(cmd: list[str]) -> dict:
    """The command's one JSON object."""
    proc, _ = timed_process(cmd, timeout_s=300)
    return json.loads(proc.stdout)


def run_tutorial(num_cpus: int, out: str) -> float:
    """The tutorial's round; it writes nothing (``out`` is for ray101's run)."""
    script = str(REPO_ROOT / "scripts" / "bench" / "retrieve_tutorial.py")
    return _run([sys.executable, script, "--num-cpus", str(num_cpus)])["runtime_s"]


def run_ours(num_cpus: int, out: str) -> float:
    cmd = [sys.executable, "-m", "jobs.cli", "run", "retrieve", "--cold", "--json",
           "--num-cpus", str(num_cpus), "--out", out]  # fmt: skip
    return _run(cmd)["timings"]["first_parallel_s"]


def summarise(tutorial_s: list[float], ours_s: list[float]) -> dict:
    """The medians of both, ray101's over the tutorial's, and the goal's verdict."""
    tutorial, ours = statistics.median(tutorial_s), statistics.median(ours_s)
    ratio = ours / tutorial
    return {
        "runs": {"tutorial_s": tutorial_s, "ours_s": ours_s},
        "median": {"tutorial_s": tutorial, "ours_s": ours},
        "ratio": ratio,
        "goal_ratio": GOAL_RATIO,
        "met": ratio <= GOAL_RATIO,
    }


def figure(payload: dict, num_cpus: int):
    """Every run as a dot, the median as a bar, for the tutorial and for ray101."""
    fig, ax = subplots(figsize=(6.0, 4.0))
    groups = (("tutorial's code\n(ray.init(), then the round)", "tutorial_s", "#999999"),
              ("ray101 run retrieve --cold\n(first parallel round)", "ours_s", "#2a6fbb"))  # fmt: skip
    for i, (_, key, color) in enumerate(groups):
        median = payload["median"][key]
        ax.bar(i, median, width=0.5, color=color, alpha=0.6)
        runs = payload["runs"][key]
        ax.plot([i] * len(runs), runs, "o", color="black", markersize=4)
        ax.annotate(f"median {median:.2f} s", (i, median), xytext=(0, 6),
                    textcoords="offset points", ha="center", fontsize=9)  # fmt: skip
    ax.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize=8)
    ax.set_ylabel("seconds (6 retrievals of 1 s each)")
    ax.set_ylim(0, max(max(r) for r in payload["runs"].values()) * 1.2)
    ax.set_title(
        f"Cold first parallel round, {len(payload['runs']['ours_s'])} runs each, "
        f"{num_cpus} CPUs\nray101 / tutorial = {payload['ratio']:.2f}× "
        f"(goal ≤ {GOAL_RATIO:g}×)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-cpus", type=int, default=os.cpu_count(), help="CPUs of each Ray")
    parser.add_argument("--repeat", type=int, default=3, help="pairs of runs; medians are kept")
    parser.add_argument("--out", default=str(REPO_ROOT / "results"), help="JSON + PNG go here")
    args = parser.parse_args()

    tutorial_s: list[float] = []
    ours_s: list[float] = []
    pair = [("tutorial", run_tutorial, tutorial_s), ("ray101", run_ours, ours_s)]
    for i in range(args.repeat):
        for label, fn, runs in pair if i % 2 == 0 else reversed(pair):
            runs.append(fn(args.num_cpus, args.out))
            print(f"[{i + 1}/{args.repeat}] {label}: {runs[-1]:.2f} s", file=sys.stderr, flush=True)

    payload = {"num_cpus": args.num_cpus, "repeat": args.repeat, **summarise(tutorial_s, ours_s)}
    median = payload["median"]
    print(
        f"cold first parallel round, medians of {args.repeat}: tutorial "
        f"{median['tutorial_s']:.2f} s, ray101 {median['ours_s']:.2f} s, ratio "
        f"{payload['ratio']:.2f} (goal <= {GOAL_RATIO:g}: {'met' if payload['met'] else 'MISSED'})"
    )
    json_path, png_path = save_figure(args.out, NAME, payload, figure(payload, args.num_cpus))
    print(f"wrote {json_path} and {png_path}", file=sys.stderr)
    return 0 if payload["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
