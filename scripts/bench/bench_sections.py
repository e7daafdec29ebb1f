"""The sections of docs/benchmarks.md, one function a workload: its figures beside
the tutorial's, what they are measured against, and each goal's verdict in the
headline. scripts/bench/report.py runs them in SECTIONS' order."""

from __future__ import annotations

from collections.abc import Callable

from bench_page import Page, at_least, at_most, dig, s, table
from retrieve_cold import GOAL_RATIO as RETRIEVE_COLD_GOAL

from jobs.commands.loadtest.goals import GOALS as ECHO_GOALS
from jobs.overhead.findings import BATCHED_GOAL, OWN_OVERHEAD_GOAL

# What the tutorial printed as its outputs, in seconds.
TUTORIAL = {
    "retrieve_sequential_s": 6.00,
    "retrieve_parallel_s": 1.02,
    "dependencies_parallel_s": 1.03,
    "mongo_sequential_s": 0.77,
    "mongo_actors_s": 1.44,
}

# The headline targets this page holds the figures to.
GOALS = {
    "retrieve_first_parallel_s": 1.5,  # at most, first parallel round on an embedded Ray
    "retrieve_cold_ratio": RETRIEVE_COLD_GOAL,  # at most, ours cold over the tutorial's cold
    "overhead_batched_speedup_1ms": BATCHED_GOAL,  # at least, CPU-bound 1 ms items, batched
    "overhead_own_ratio": OWN_OVERHEAD_GOAL,  # at most, Ray's async task rate over ray101's
    # The echo's: jobs/commands/loadtest/goals.py, what `ray101 loadtest --check` enforces.
    "echo_ratio": ECHO_GOALS.ratio,  # at least, echo req/s over the bare ASGI baseline's
    "echo_p99_ms": ECHO_GOALS.p99_ms,  # at most
    "tune_ratio_wall": 0.2,  # at most, our tuning wall over the tutorial's
    "tune_ratio_process": 0.35,  # at most, whole processes
}


def core(page: Page) -> None:
    page.add("## Ray Core: retrieve and dependencies", "")
    data = page.figure("retrieve", "retrieve: 6 retrievals of 1 s, sequential and as Ray tasks")
    cold = page.figures.get("retrieve-cold")
    if data is not None:
        t = data["timings"]
        started = dig(data, "details", "first_round", "workers_started_before")
        first_cold = dig(cold, "median", "ours_s")
        tutorial_cold = dig(cold, "median", "tutorial_s")
        page.add(*table(
            ["round", "tutorial", "this run"],
            [
                ["sequential", s(TUTORIAL["retrieve_sequential_s"]), s(t.get("sequential_s"))],
                [f"parallel, first round ({started} workers started during the sequential run)",
                 "–", s(t.get("first_parallel_s"))],
                ["parallel, first round, cold (`--cold`; the tutorial's code run here; "
                 "medians of 3)", s(tutorial_cold), s(first_cold)],
                ["parallel, warm (fastest of 2)", s(TUTORIAL["retrieve_parallel_s"]),
                 s(t.get("parallel_s"))],
            ],
        ), "")  # fmt: skip
        page.add(
            "The tutorial printed one parallel run. Here the first round finds the worker "
            "processes it needs already started: they start while the sequential baseline "
            "runs (Ray itself starts only as many as the node has CPUs, and four "
            "quarter-CPU tasks share each). `--cold` measures the round that starts them.",
            "",
        )
    first = dig(data, "timings", "first_parallel_s")
    page.goal("retrieve: first parallel round", s(TUTORIAL["retrieve_parallel_s"]), s(first),
              f"≤ {GOALS['retrieve_first_parallel_s']} s",
              at_most(first, GOALS["retrieve_first_parallel_s"]))  # fmt: skip
    cold_ratio = dig(cold, "ratio")
    page.goal("retrieve: first round, cold, ours / the tutorial's (medians)",
              s(dig(cold, "median", "tutorial_s")), _x(cold_ratio),
              f"≤ {GOALS['retrieve_cold_ratio']:g}×",
              at_most(cold_ratio, GOALS["retrieve_cold_ratio"]))  # fmt: skip
    data = page.figure("dependencies", "dependencies: 5 items of 1 s, then aggregate")
    if data is not None:
        t = data["timings"]
        page.add(*table(
            ["round", "tutorial", "this run"],
            [
                ["sequential", "–", s(t.get("sequential_s"))],
                ["parallel, first round", "–", s(t.get("first_parallel_s"))],
                ["parallel, warm (fastest of 2)", s(TUTORIAL["dependencies_parallel_s"]),
                 s(t.get("parallel_s"))],
            ],
        ), "")  # fmt: skip
    page.goal("dependencies: parallel", s(TUTORIAL["dependencies_parallel_s"]),
              s(dig(data, "timings", "parallel_s")), "–", None)  # fmt: skip


def overhead(page: Page) -> None:
    data = page.section(
        "When to use Ray: task overhead and batching",
        "overhead",
        "overhead: break-even task duration, one task per item vs batched",
    )
    goal = GOALS["overhead_batched_speedup_1ms"]
    if data is None:
        page.goal("overhead: batched, CPU-bound 1 ms items", "–", "not measured", f"≥ {goal}×",
                  None)  # fmt: skip
        return
    result, t = data.get("result", {}), data.get("timings", {})
    rows = []
    for kind in sorted(result.get("break_even_ms", {})):
        rows.append([
            kind,
            _ms(dig(result, "break_even_ms", kind)),
            _ms(dig(result, "batched_break_even_ms", kind)),
            _x(dig(result, "per_item_speedup_at_1ms", kind)),
            _x(dig(result, "batched_speedup_at_1ms", kind)),
        ])  # fmt: skip
    page.add(*table(
        ["items", "break-even, one task each", "break-even, batched",
         "speedup at 1 ms, one task each", "speedup at 1 ms, batched"],
        rows,
    ), "")  # fmt: skip
    page.add(
        f"Ray's task round trip on this machine: {_rate(t.get('sync_tasks_per_s'))} sync, "
        f"{_rate(t.get('async_tasks_per_s'))} async tasks/s (`ray microbenchmark`'s method).",
        "",
    )
    for ref in dig(data, "details", "reference") or []:
        page.add(f"For reference, {ref['source']}: {_rate(ref.get('sync_tasks_per_s'))} sync, "
                 f"{_rate(ref.get('async_tasks_per_s'))} async tasks/s.", "")  # fmt: skip
    batched = dig(result, "batched_speedup_at_1ms", "cpu")
    page.goal("overhead: batched, CPU-bound 1 ms items", "–", _x(batched), f"≥ {goal}×",
              at_least(batched, goal))  # fmt: skip
    own_ratio = t.get("own_overhead_ratio")
    spread = (
        f" ({_x(t.get('own_overhead_ratio_low'))} to {_x(t.get('own_overhead_ratio_high'))})"
        if own_ratio is not None
        else ""
    )
    page.goal("overhead: ray101's task overhead over a bare task's with the same arguments "
              "(rate ratio, median of window pairs)", "–", _x(own_ratio) + spread,
              f"≤ {GOALS['overhead_own_ratio']}×",
              at_most(own_ratio, GOALS["overhead_own_ratio"]))  # fmt: skip


def _ms(value: float | None) -> str:
    return "never (in the durations measured)" if value is None else f"{value:.2g} ms"


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def mongo(page: Page) -> None:
    data = page.section(
        "MongoDB aggregations",
        "mongo",
        "mongo: sequential, the tutorial's actors, a warm pool, partitioned",
    )
    where = " (stand-in)" if dig(data, "details", "standin") else ""
    page.goal(f"mongo: sequential / actors{where}", "0.77 s / 1.44 s",
              f"{s(dig(data, 'timings', 'sequential_s'))} / {s(dig(data, 'timings', 'actors_s'))}",
              "–", None)  # fmt: skip
    if data is None:
        return
    t, server = data["timings"], dig(data, "result", "server")
    page.add(*table(
        ["mode", "tutorial", "this run"],
        [
            ["sequential", s(TUTORIAL["mongo_sequential_s"]), s(t.get("sequential_s"))],
            ["actors (a new actor per pipeline)", s(TUTORIAL["mongo_actors_s"]),
             s(t.get("actors_s"))],
            ["pool start-up (once)", "–", s(t.get("pool_startup_s"))],
            ["warm pool", "–", s(t.get("pool_s"))],
            ["partitioned movies scan", "–", s(t.get("partitioned_s"))],
        ],
    ), "")  # fmt: skip
    page.add(f"Server: {server}. The tutorial's figures are from MongoDB with sample_mflix.", "")
    if dig(data, "details", "standin"):
        page.add("Measured against the stand-in, not MongoDB: the modes compare, the seconds "
                 "say nothing about a MongoDB server.", "")  # fmt: skip


def echo(page: Page) -> None:
    data = page.section(
        "Echo service (Ray Serve)", "echo", "echo: Ray Serve against a bare ASGI echo, same run"
    )
    if data is None:
        return
    rows = [
        [name, f"{x['rps']:,.0f}", f"{x['p50_ms']:.2f}", f"{x['p95_ms']:.2f}", f"{x['p99_ms']:.2f}"]
        for name, x in data["summary"].items()
    ]
    page.add(*table(["target", "req/s", "p50 ms", "p95 ms", "p99 ms"], rows), "")
    ratio, p99 = data.get("ratio"), dig(data, "summary", "echo", "p99_ms")
    page.add(
        f"Load: {data.get('client')}, {data.get('connections')} connections. The tutorial "
        "shows the echo's reply, not its speed.",
        "",
    )
    base_p99 = dig(data, "summary", "baseline", "p99_ms")
    if base_p99 is not None and base_p99 > GOALS["echo_p99_ms"]:
        page.add(
            f"The bare ASGI server's own p99 in the same run is {base_p99:.1f} ms, above the "
            f"{GOALS['echo_p99_ms']:g} ms goal: at this load the tail is set by the machine's "
            "contended cores before Serve adds anything.",
            "",
        )
    page.goal("echo: throughput of bare ASGI", "–", "–" if ratio is None else f"{ratio:.1%}",
              f"≥ {GOALS['echo_ratio']:.0%}", at_least(ratio, GOALS["echo_ratio"]))  # fmt: skip
    page.goal("echo: p99 latency", "–", "–" if p99 is None else f"{p99:.1f} ms",
              f"≤ {GOALS['echo_p99_ms']:g} ms", at_most(p99, GOALS["echo_p99_ms"]))  # fmt: skip


def tune(page: Page) -> None:
    page.add("## Tune: the tutorial's budget, its code against ours", "")
    page.figure("tune", "Tune: validation loss per epoch of every trial, ASHA's stops")
    data = page.figure("tune-compare", "Tune: tutorial vs ours, same session and budget")
    if data is None:
        return
    tut, ours = data["tutorial"], data["ours"]
    page.add(*table(
        ["", "tutorial (run here)", "ours"],
        [
            ["tuning wall", s(tut.get("wall_s")), s(ours.get("wall_s"))],
            ["process wall", s(tut.get("process_s")), s(ours.get("process_s"))],
            ["epochs trained", f"{tut.get('total_epochs')}", f"{ours.get('total_epochs')}"],
            ["best config, retrained 10 epochs: val acc", _acc(tut.get("best_val_acc")),
             _acc(ours.get("best_val_acc_retrained"))],
        ],
    ), "")  # fmt: skip
    page.add("The tutorial prints a best config but no times: its code is run here, in the "
             "same session, on the same budget.", "")  # fmt: skip
    wall, process = data.get("ratio_wall"), data.get("ratio_process")
    page.goal("tune: tuning wall, ours / tutorial's", s(tut.get("wall_s")), _x(wall),
              f"≤ {GOALS['tune_ratio_wall']}×", at_most(wall, GOALS["tune_ratio_wall"]))  # fmt: skip
    page.goal("tune: process wall, ours / tutorial's", s(tut.get("process_s")), _x(process),
              f"≤ {GOALS['tune_ratio_process']}×",
              at_most(process, GOALS["tune_ratio_process"]))  # fmt: skip
    acc_t, acc_o = tut.get("best_val_acc"), ours.get("best_val_acc_retrained")
    page.goal("tune: best config's accuracy", _acc(acc_t), _acc(acc_o), "≥ the tutorial's",
              None if acc_t is None or acc_o is None else acc_o >= acc_t)  # fmt: skip


def _acc(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


SECTIONS: tuple[Callable[[Page], None], ...] = (core, overhead, mongo, echo, tune)
