"""``ray101 wait data`` and ``ray101 wait bucket``: what a RayJob's submitter
pod runs before ``ray job submit`` (``ray101 bucket create``, which the bucket
Job runs, is jobs/commands/bucket.py).

A RayJob starts as soon as its RayCluster is ready, which is usually before
the data-load Job has filled MongoDB or the bucket Job has made Tune's bucket;
the workload would then read an empty database or fail to write its results.
The init containers of the submitter pods call these commands to hold the
submission back until what the workload needs is there.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from jobs.commands.bucket import bucket_state, s3
from jobs.runtime import flags
from jobs.runtime.command import EXIT_OK
from jobs.runtime.errors import UsageError

DEFAULT_INTERVAL_S = 5.0


def poll(what: str, missing: Callable[[], str], interval_s: float) -> None:
    """Call ``missing`` until it returns "" (nothing missing), printing what is."""
    while state := missing():
        print(f"waiting for {what}: {state}", flush=True)
        time.sleep(interval_s)


def missing_indexes(db: Any) -> str:
    """The indexes of jobs/mongo/data.py not yet in ``db``: the loader creates
    them after filling each collection, so none missing means all data is in."""
    from pymongo.errors import PyMongoError

    from jobs.mongo.data import INDEXES

    wanted = {(c, field) for c, specs in INDEXES.items() for field, _ in specs}
    try:
        have = {
            (c, field)
            for c in INDEXES
            for index in db[c].index_information().values()
            for field, _ in index["key"]
        }
    except PyMongoError as exc:
        return f"MongoDB unreachable ({type(exc).__name__})"
    return ", ".join(sorted(f"{c}.{f}" for c, f in wanted - have))


def _add_interval(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--interval",
        type=flags.positive_float,
        default=DEFAULT_INTERVAL_S,
        metavar="S",
        help=f"seconds between checks (default {DEFAULT_INTERVAL_S:g})",
    )


def add_wait_data_arguments(parser: argparse.ArgumentParser) -> None:
    """``ray101 wait data``'s flags, and :func:`wait_data`."""
    parser.description = "Wait until the sample data is loaded into MongoDB."
    parser.set_defaults(func=wait_data)
    _add_interval(parser)
    parser.add_argument("--db", required=True, help="database the loader fills")


def wait_data(args: argparse.Namespace) -> int:
    """``ray101 wait data --db DB``: until every index of the sample data exists."""
    from jobs.mongo import client as mongo_client

    uri = mongo_client.resolve_uri(None)
    if not uri:
        raise UsageError(f"set {mongo_client.URI_ENV} to the MongoDB to wait for")
    mongo_client.install_log_redaction(uri)
    db = mongo_client.make_client(uri)[args.db]
    poll("the sample data", lambda: missing_indexes(db), args.interval)
    print("the sample data is loaded", flush=True)
    return EXIT_OK


def add_wait_bucket_arguments(parser: argparse.ArgumentParser) -> None:
    """``ray101 wait bucket``'s flags, and :func:`wait_bucket`."""
    parser.description = "Wait until an S3 bucket exists."
    parser.set_defaults(func=wait_bucket)
    _add_interval(parser)
    parser.add_argument("bucket")


def wait_bucket(args: argparse.Namespace) -> int:
    """``ray101 wait bucket BUCKET``: until the bucket exists (Tune does not create buckets)."""
    fs = s3()
    poll(f"the bucket {args.bucket}", lambda: bucket_state(fs, args.bucket), args.interval)
    print(f"the bucket {args.bucket} is there", flush=True)
    return EXIT_OK
