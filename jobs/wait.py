"""``ray101 wait data``, ``ray101 wait bucket`` and ``ray101 bucket create``:
what a RayJob's submitter pod runs before ``ray job submit``, and what the
bucket Job runs (jobs/bucket_user.py for the S3 identity limited to the bucket).

A RayJob starts as soon as its RayCluster is ready, which is usually before
the data-load Job has filled MongoDB or the bucket Job has made Tune's bucket;
the workload would then read an empty database or fail to write its results.
The init containers of the submitter pods call these commands to hold the
submission back until what the workload needs is there.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from jobs import flags
from jobs.bucket_user import ACCESS_KEY_ENV, ENDPOINT_ENV, SECRET_KEY_ENV
from jobs.command import EXIT_FAILED, EXIT_OK
from jobs.errors import UsageError, first_line

DEFAULT_INTERVAL_S = 5.0
# `bucket create`: how long the store may take to answer, and how often to ask.
DEFAULT_STORE_WAIT_S = 120.0
STORE_POLL_S = 2.0


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


def s3(create: bool = False) -> Any:
    """pyarrow's S3 client (the one Tune writes with), at AWS_ENDPOINT_URL if set."""
    import pyarrow.fs as pafs

    endpoint = os.environ.get(ENDPOINT_ENV) or None
    return pafs.S3FileSystem(endpoint_override=endpoint, allow_bucket_creation=create)


def bucket_state(fs: Any, bucket: str) -> str:
    import pyarrow.fs as pafs

    try:
        if fs.get_file_info(bucket).type == pafs.FileType.Directory:
            return ""
        return "not created yet"
    except OSError as exc:
        return str(exc).splitlines()[0]


def wait_for_store(fs: Any, bucket: str, timeout_s: float) -> str:
    """Until the store answers (the bucket there or not), at most ``timeout_s``;
    "" when it answered, else why it did not. On an install the store's pod
    starts beside the bucket Job: without this its first pod fails and counts
    against the Job's retries."""
    endpoint = os.environ.get(ENDPOINT_ENV) or "AWS"
    deadline = time.monotonic() + timeout_s
    while (state := bucket_state(fs, bucket)) not in ("", "not created yet"):
        if time.monotonic() >= deadline:
            return f"the S3 store at {endpoint} did not answer within {timeout_s:g} s: {state}"
        print(f"waiting for the S3 store at {endpoint}: {state}", flush=True)
        time.sleep(STORE_POLL_S)
    return ""


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


def add_create_bucket_arguments(parser: argparse.ArgumentParser) -> None:
    """``ray101 bucket create``'s flags, and :func:`create_bucket`."""
    parser.description = "Create an S3 bucket."
    parser.set_defaults(func=create_bucket)
    parser.add_argument("bucket", help="the bucket's name (one that exists is kept)")
    parser.add_argument(
        "--bucket-user",
        action="store_true",
        help=(
            "also make the store's identity whose keys are in "
            f"{ACCESS_KEY_ENV}/{SECRET_KEY_ENV}, with read and "
            "write on this bucket only, through the store's IAM API (needs its admin keys "
            f"as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and {ENDPOINT_ENV})"
        ),
    )
    parser.add_argument(
        "--wait",
        type=flags.non_negative_float,
        default=DEFAULT_STORE_WAIT_S,
        metavar="SECONDS",
        help=(
            "how long to wait for the store to answer (it starts beside this Job "
            f"on an install; default {DEFAULT_STORE_WAIT_S:g})"
        ),
    )


def create_bucket(args: argparse.Namespace) -> int:
    """``ray101 bucket create BUCKET [--bucket-user]``: create it (a bucket that
    exists is kept) and, with --bucket-user, the S3 identity limited to it."""
    from jobs import bucket_user

    if args.bucket_user:  # every usage error before anything is created
        access_key, secret_key = bucket_user.user_keys()
        admin = bucket_user.admin_from_env()
    fs = s3(create=True)
    if problem := wait_for_store(fs, args.bucket, args.wait):
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_FAILED
    try:
        fs.create_dir(args.bucket)
    except OSError as exc:
        print(f"error: cannot create the bucket {args.bucket}: {first_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"the bucket {args.bucket} is there", flush=True)
    if args.bucket_user:
        user = bucket_user.identity_name(args.bucket)
        try:
            bucket_user.grant(admin, args.bucket, access_key, secret_key)
        except bucket_user.admin_errors() as exc:
            print(f"error: cannot make the identity {user}: {first_line(exc)}", file=sys.stderr)
            return EXIT_FAILED
        print(
            f"the identity {user} (access key {access_key}) may read and write "
            f"{args.bucket} only (policy {bucket_user.policy_name(args.bucket)})",
            flush=True,
        )
    return EXIT_OK
