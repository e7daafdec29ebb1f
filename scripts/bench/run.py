"""``make bench``: every workload's benchmark, one after another, then docs/benchmarks.md.

Each step is a ``ray101`` command (or the Tune comparison script) writing its
JSON and PNG into ``--out`` (default results/bench/). Steps run in their own
process with their own embedded Ray, one at a time so they do not share the
cores, each bounded by its own limit and all of them by ``--budget``; progress
goes to stderr. What each step ran, how long it took and how it ended is kept
in ``OUT/steps.json``, which the report reads to show each figure's command.

Run: .venv/bin/python scripts/bench/run.py [--out results/bench] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO_ROOT), str(Path(__file__).resolve().parent)]

from bench_steps import STEPS, Step  # noqa: E402

from jobs.runtime.result import environment  # noqa: E402

# All steps together stay under 15 minutes on a 2-core machine.
DEFAULT_BUDGET_S = 14 * 60


def clear(step: Step, out: Path) -> None:
    """A step that fails or does not run must not leave the last run's figures to report."""
    for rel in step.figures.values():
        for stale in ((out / rel), (out / rel).with_suffix(".png")):
            stale.unlink(missing_ok=True)


def run_step(step: Step, out: Path, limit_s: float, log_dir: Path) -> dict:
    log_path = log_dir / f"{step.name}.log"
    clear(step, out)
    start, started_at = time.perf_counter(), time.time()
    with log_path.open("w") as log:
        try:
            done = subprocess.run(
                step.argv(out), cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                timeout=limit_s, check=False,
            )  # fmt: skip
            rc = done.returncode
        except subprocess.TimeoutExpired:
            rc = None
    seconds = time.perf_counter() - start
    # A benchmark that ran but judged a goal missed exits 1 and still wrote its figures.
    wrote = all(
        (out / rel).is_file() and (out / rel).stat().st_mtime >= started_at
        for rel in step.figures.values()
    )
    status = "ok" if rc == 0 else ("timed out" if rc is None else f"exit {rc}")
    return {
        "command": step.shown(out),
        "seconds": round(seconds, 1),
        "returncode": rc,
        "status": status,
        "wrote_figures": wrote,
        "log": str(log_path.relative_to(out)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "bench")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, help="seconds, all steps")
    parser.add_argument("--only", nargs="+", choices=[s.name for s in STEPS], metavar="NAME")
    args = parser.parse_args(argv)
    steps = [s for s in STEPS if not args.only or s.name in args.only]
    out = args.out.resolve()
    log_dir = out / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    steps_path = out / "steps.json"
    record = json.loads(steps_path.read_text()) if args.only and steps_path.exists() else {}
    record.setdefault("steps", {})
    record["environment_at_start"] = environment()
    deadline = time.monotonic() + args.budget
    failed = []
    for i, step in enumerate(steps, 1):
        left = deadline - time.monotonic()
        if left < 30:
            clear(step, out)
            record["steps"][step.name] = {"command": step.shown(out), "status": "not run: budget"}
            failed.append(step.name)
            continue
        print(f"[{i}/{len(steps)}] {step.shown(out)} (at most {min(step.limit_s, left):.0f} s)",
              file=sys.stderr, flush=True)  # fmt: skip
        result = run_step(step, out, min(step.limit_s, left), log_dir)
        record["steps"][step.name] = result
        print(f"      {result['status']} in {result['seconds']:.0f} s", file=sys.stderr, flush=True)
        if not result["wrote_figures"]:
            failed.append(step.name)
            tail = (out / result["log"]).read_text().splitlines()[-5:]
            print("\n".join(f"      | {line}" for line in tail), file=sys.stderr)
    record["environment_at_end"] = environment()
    steps_path.write_text(json.dumps(record, indent=2))
    if failed:
        print(f"no figures from: {', '.join(failed)} (logs in {log_dir})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
