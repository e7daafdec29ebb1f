"""``ray101 run mongo`` and ``python -m jobs.mongo``: the flags, the checks before
Ray starts (the server, the sample data, the pipelines), and the run of every
mode side by side (the package's docstring says what each mode is)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from jobs.mongo import benchmark, client, report, server, standin
from jobs.mongo.data import DataSpec, add_dataset_arguments
from jobs.mongo.pipelines import Pipeline, select_pipelines
from jobs.mongo.pool import DEFAULT_BATCH_SIZE, DEFAULT_MAX_TIME_MS, DEFAULT_POOL_SIZE, Settings
from jobs.mongo.report import NAME, plot  # noqa: F401  (the workload's interface)
from jobs.runtime import flags, runner
from jobs.runtime.connect import IO_TASK_CPUS
from jobs.runtime.errors import UsageError
from jobs.runtime.result import JobResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset_arguments(parser, purpose=" for the stand-in")
    parser.add_argument(
        "--standin",
        action="store_true",
        help="with no URI: start the nx-27017 stand-in and load generated data into it",
    )
    parser.add_argument(
        "--pool-size",
        type=flags.positive_int,
        default=DEFAULT_POOL_SIZE,
        help=f"actors in the warm pool (default {DEFAULT_POOL_SIZE})",
    )
    parser.add_argument(
        "--partitions",
        type=flags.positive_int,
        default=None,
        help="year ranges for the partitioned movies scan (default: the pool size)",
    )
    parser.add_argument(
        "--batch-size",
        type=flags.positive_int,
        default=DEFAULT_BATCH_SIZE,
        help=f"documents per cursor batch, fewer round trips (default {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument(
        "--max-time-ms",
        type=flags.positive_int,
        default=DEFAULT_MAX_TIME_MS,
        help=f"server-side time limit per aggregation (default {DEFAULT_MAX_TIME_MS})",
    )
    parser.add_argument(
        "--repeat",
        type=flags.positive_int,
        default=1,
        help="time each mode this many times and report the fastest (default 1)",
    )
    parser.add_argument(
        "--warmup",
        type=flags.non_negative_int,
        default=1,
        help="untimed sequential passes first, so no mode pays for a cold cache (default 1)",
    )
    parser.add_argument(
        "--extra-pipeline",
        action="append",
        default=[],
        metavar="JSON",
        help='another pipeline, \'{"name": "n", "collection": "movies", "pipeline": [...]}\' '
        "or @file.json (extended JSON)",
    )
    parser.add_argument(
        "--allow-writes",
        action="store_true",
        help="run pipelines that contain $out or $merge (refused otherwise)",
    )


@dataclass(frozen=True)
class Checked:
    """What :func:`preflight` found: the server's URI (None: use the stand-in),
    the pipelines to run, and the data set the stand-in is loaded with."""

    uri: str | None
    pipelines: list[Pipeline]
    data: DataSpec


def preflight(args: argparse.Namespace) -> Checked:
    """Checks that need no Ray, run before Ray starts so a mistake fails in seconds:
    write stages, a missing URI, an unreachable server."""
    pipelines = select_pipelines(args.extra_pipeline, args.allow_writes)
    uri = server.preflight(
        args.uri,
        args.standin,
        "no MongoDB",
        "to use the nx-27017 stand-in with generated data",
    )
    return Checked(uri=uri, pipelines=pipelines, data=DataSpec.from_args(args))


def run(args: argparse.Namespace, ctx: runner.Context) -> JobResult:
    checked: Checked = ctx.checked
    with server.server(checked.uri, checked.data, args.db) as found:
        shown_uri = client.redact(found.uri)
        mongo = client.connect(found.uri)
        try:
            db = mongo[args.db]
            label = standin.label() if found.standin else client.server_label(mongo)
            sizes = {name: db[name].estimated_document_count() for name in ("movies", "comments")}
        finally:
            mongo.close()
        empty = [name for name, n in sizes.items() if n == 0]
        if empty:
            raise UsageError(
                f"{args.db}.{empty[0]} is empty on {shown_uri}: load it with `ray101 data load`"
            )
        settings = Settings(found.uri, args.db, args.batch_size, args.max_time_ms)
        result = benchmark.benchmark(
            settings, checked.pipelines, args.pool_size, args.partitions, args.repeat, args.warmup
        )
    context = {
        "server": label,
        "standin": found.standin,
        "uri": shown_uri,
        "database": args.db,
        "documents": sizes,
        "options": {
            "pool_size": args.pool_size,
            "partitions": len(result.partition_filters),
            "batch_size": args.batch_size,
            "max_time_ms": args.max_time_ms,
            "repeat": args.repeat,
            "warmup": args.warmup,
            "actor_num_cpus": IO_TASK_CPUS,
        },
    }
    return report.report(result, checked.pipelines, context)


def main(argv=None) -> int:
    return runner.main_for(sys.modules[__name__], argv)
