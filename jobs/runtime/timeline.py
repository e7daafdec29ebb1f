"""When each task of a benchmark round waited and ran, kept in the result's JSON and drawn.

A round is one timed call (the sequential baseline, a parallel round). The
driver notes each round's start and end (:class:`Rounds`); the tasks it ran
are read back afterwards from Ray's own task events (the GCS keeps, per task,
when it was submitted and when its function ran), so the workload's tasks
keep the tutorial's shape and record nothing themselves. Work done in the
driver (the sequential baseline) is noted by :meth:`Rounds.wrap`.

Every time in the JSON is seconds since the round started, so the plot needs
nothing but the JSON. On a cluster of several machines a task's times come
from its node's clock, which NTP keeps within milliseconds of the driver's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import ray

from jobs.runtime import ray_internals
from jobs.runtime.result import speedup

# How long to wait for workers to report their task events (they send them
# every second by default) before drawing what has arrived.
EVENTS_WAIT_S = 10.0


FIRST_ROUND = "parallel, first round"


@dataclass
class Parallel:
    """What :meth:`Rounds.parallel` measured."""

    first: Any
    first_s: float
    best: Any  # the fastest warm round's value and seconds
    best_s: float
    values: list[Any]  # every round's value, to check they agree
    labels: list[str]  # the rounds worth drawing: the first and the fastest warm one

    def timings(self, sequential_s: float) -> dict[str, float]:
        """The result's timings for a sequential baseline and these parallel rounds."""
        return {
            "sequential_s": sequential_s,
            "first_parallel_s": self.first_s,
            "parallel_s": self.best_s,
            "speedup": speedup(sequential_s, self.best_s),
        }


@dataclass
class Round:
    label: str
    start: float  # epoch seconds, the driver's clock
    end: float = 0.0
    note: str = ""  # how the round started, when that matters (workers already up or not)
    # Driver-side spans (name, start, end), epoch seconds; tasks come from Ray.
    spans: list[tuple[str, float, float]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.end - self.start


class Rounds:
    """The rounds of one benchmark run, in the order they ran."""

    def __init__(self) -> None:
        self.rounds: list[Round] = []
        self._current: Round | None = None

    def timed(
        self, label: str, fn: Callable[..., Any], *args: Any, note: str = ""
    ) -> tuple[Any, float]:
        """Call ``fn(*args)`` as the round ``label``; return its value and its seconds."""
        self._current = current = Round(label, time.time(), note=note)
        start = time.perf_counter()
        try:
            value = fn(*args)
        finally:
            seconds = time.perf_counter() - start
            current.end = current.start + seconds
            self.rounds.append(current)
            self._current = None
        return value, seconds

    def parallel(
        self, fn: Callable[..., Any], *args: Any, first_note: str = "", warm_rounds: int = 2
    ) -> Parallel:
        """A first round of ``fn(*args)`` (``first_note``: how it started), then
        ``warm_rounds`` more; the fastest of those is the steady state a
        long-running cluster has."""
        first, first_s = self.timed(FIRST_ROUND, fn, *args, note=first_note)
        warm = [self.timed(_warm_label(i), fn, *args) for i in range(warm_rounds)]
        best = min(range(warm_rounds), key=lambda i: warm[i][1])
        return Parallel(
            first=first,
            first_s=first_s,
            best=warm[best][0],
            best_s=warm[best][1],
            values=[first, *(value for value, _ in warm)],
            labels=[FIRST_ROUND, _warm_label(best)],
        )

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` noting each call as a span of the running round (work done in the driver)."""

        def noted(*args: Any) -> Any:
            start = time.time()
            value = fn(*args)
            if self._current is not None:
                self._current.spans.append((fn.__name__, start, time.time()))
            return value

        return noted

    def to_dict(self, tasks: dict[str, int], keep: Iterable[str] | None = None) -> dict:
        """The rounds as JSON, with the runs of Ray tasks placed in the round that
        submitted them. ``tasks``: how many tasks of each function name one
        parallel round (a round with no driver-side spans) submits, so the read
        waits for all of them; ``keep``: the labels to include (default all)."""
        wanted = set(keep) if keep is not None else None
        rounds = [r for r in self.rounds if wanted is None or r.label in wanted]
        runs = _task_runs(tasks, rounds)
        return {"rounds": [_round_dict(r, _in(r, runs)) for r in rounds]}


def _warm_label(index: int) -> str:
    return f"parallel, warm round {index + 1}"


def _round_dict(r: Round, runs: list[dict]) -> dict:
    def rel(t: float) -> float:
        return round(t - r.start, 4)

    spans = [{"name": n, "ran": [rel(s), rel(e)]} for n, s, e in r.spans]
    for t in sorted(runs, key=_submitted):
        span = {"name": t["name"], "submitted": rel(t["submitted"])}
        span["ran"] = [rel(t["ran"][0]), rel(t["ran"][1])]
        spans.append(span)
    _number_repeated(spans)
    out = {"label": r.label, "seconds": round(r.seconds, 4), "spans": spans}
    return {**out, "note": r.note} if r.note else out


def _number_repeated(spans: list[dict]) -> None:
    """``process 0``, ``process 1``, … in submission order; a name seen once stays as it is."""
    counts: dict[str, int] = {}
    for span in spans:
        counts[span["name"]] = counts.get(span["name"], 0) + 1
    seen: dict[str, int] = {}
    for span in spans:
        name = span["name"]
        if counts[name] > 1:
            span["name"] = f"{name} {seen.get(name, 0)}"
            seen[name] = seen.get(name, 0) + 1


def _submitted(run: dict) -> float:
    return run["submitted"]


def _in(r: Round, runs: list[dict]) -> list[dict]:
    return [t for t in runs if r.start <= t["submitted"] <= r.end]


def _task_runs(tasks: dict[str, int], rounds: list[Round]) -> list[dict]:
    """Submission and execution times of the tasks the rounds submitted, waiting
    (bounded) until workers have reported every one of them. A driver joined
    through Ray Client cannot read the GCS: its rounds are drawn without tasks."""
    if ray.util.client.ray.is_connected():
        return []
    parallel = [r for r in rounds if not r.spans]
    deadline = time.monotonic() + EVENTS_WAIT_S
    while True:
        runs = [t for t in ray_internals.task_runs(set(tasks)) if t.get("ran")]
        if all(_complete(_in(r, runs), tasks) for r in parallel) or time.monotonic() > deadline:
            return [t for t in runs if any(_in(r, [t]) for r in rounds)]
        time.sleep(0.5)


def _complete(runs: list[dict], tasks: dict[str, int]) -> bool:
    return all(sum(t["name"] == name for t in runs) >= n for name, n in tasks.items())


def plot(timeline: dict, title: str) -> Any:
    """One panel per round, one row per task or item: a thin line while it waits
    (for a worker process, for its inputs), a bar while its function runs."""
    from jobs.runtime.result import subplots

    rounds = timeline["rounds"]
    rows = max(len(r["spans"]) for r in rounds)
    # A task of a few milliseconds (an aggregate) still shows as a sliver.
    min_width = 0.006 * max(r["seconds"] for r in rounds)
    fig, axes = subplots(
        len(rounds),
        1,
        sharex=True,
        squeeze=False,
        figsize=(8.0, 1.0 + len(rounds) * (0.6 + 0.22 * rows)),
    )
    for ax, r in zip(axes[:, 0], rounds, strict=True):
        for row, span in enumerate(r["spans"]):
            if "submitted" in span and "ran" in span:
                ax.hlines(
                    row,
                    span["submitted"],
                    span["ran"][0],
                    color="#999999",
                    lw=1.5,
                    label="submitted, waiting (worker, inputs)",
                )
            if "ran" in span:
                start, end = span["ran"]
                ax.barh(
                    row,
                    max(end - start, min_width),
                    left=start,
                    height=0.6,
                    color="#2a6fbb",
                    label="running",
                )
        ax.axvline(r["seconds"], color="#c0392b", ls="--", lw=1, label="round ends")
        ax.set_yticks(range(len(r["spans"])), [s["name"] for s in r["spans"]], fontsize=7)
        ax.set_ylim(rows - 0.4, -0.6)
        note = f" ({r['note']})" if r.get("note") else ""
        ax.set_title(f"{r['label']}{note}: {r['seconds']:.2f} s", fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    for ax in axes[1:, 0]:
        more = ax.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    unique = dict(zip(labels, handles, strict=True))
    fig.legend(unique.values(), unique.keys(), loc="upper right", fontsize=8, ncol=3)
    axes[-1, 0].set_xlabel("seconds since the round started")
    fig.suptitle(title, fontsize=10, x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig
