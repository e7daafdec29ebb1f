"""``ray101 data load``: sample_mflix-shaped movies and comments into MongoDB.

    ray101 data load [--uri URI] [--db sample_mflix] [--movies 21349] [--comments 41079]
                     [--seed 101] [--replace] [--archive PATH] [--standin]

Exit codes: 0 loaded, 1 the load failed (the message's password masked),
2 a user's mistake.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pymongo.errors import PyMongoError

from jobs.mongo import client
from jobs.mongo.data import INDEXES, DataSpec, add_dataset_arguments
from jobs.mongo.load import DEFAULT_BATCH, ensure_indexes, load
from jobs.mongo.server import preflight, server
from jobs.runtime import flags
from jobs.runtime.command import EXIT_FAILED, EXIT_OK, run_command, setup_logging
from jobs.runtime.errors import UsageError


def restore_archive(uri: str, db_name: str, archive: Path, replace: bool) -> None:
    """Restore a ``mongodump --archive`` of sample_mflix with ``mongorestore``."""
    tool = shutil.which("mongorestore")
    if tool is None:
        raise UsageError(
            "--archive needs mongorestore (MongoDB Database Tools) on PATH; install it, "
            "or leave out --archive to load generated data"
        )
    if not archive.is_file():
        raise UsageError(f"--archive {archive}: no such file")
    command = [tool, f"--uri={uri}", f"--archive={archive}", "--nsInclude=sample_mflix.*"]
    if archive.suffix == ".gz":
        command.append("--gzip")
    if db_name != "sample_mflix":
        command += ["--nsFrom=sample_mflix.*", f"--nsTo={db_name}.*"]
    if replace:
        command.append("--drop")
    print(client.redact(" ".join(command), uri), file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"mongorestore failed: {client.redact(last[0], uri)}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ray101 data load``'s flags, and :func:`run`."""
    parser.description = "Load sample_mflix-shaped movies and comments into MongoDB."
    parser.set_defaults(func=run)
    add_dataset_arguments(parser)
    parser.add_argument(
        "--batch-size",
        type=flags.positive_int,
        default=DEFAULT_BATCH,
        help=f"documents per insert (default {DEFAULT_BATCH})",
    )
    parser.add_argument(
        "--replace", action="store_true", help="drop the collections first, then load"
    )
    parser.add_argument(
        "--archive",
        type=Path,
        default=None,
        metavar="PATH",
        help="restore this `mongodump --archive` of sample_mflix with mongorestore instead",
    )
    parser.add_argument(
        "--standin",
        action="store_true",
        help="without a URI: load into a throw-away nx-27017 stand-in (a dry run)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> flags.ArgumentParser:
    """The parser of ``ray101 data load`` on its own (what :func:`main` parses)."""
    parser = flags.ArgumentParser(prog="ray101 data load")
    add_arguments(parser)
    return parser


def _load_into(uri: str, args: argparse.Namespace) -> None:
    start = time.perf_counter()
    mongo = client.connect(uri)
    try:
        db = mongo[args.db]
        if args.archive is not None:
            restore_archive(uri, args.db, args.archive, args.replace)
            ensure_indexes(db)
            for name in ("movies", "comments"):
                print(f"{name}: {db[name].count_documents({})} documents")
        else:
            dataset = DataSpec.from_args(args).generate()
            for report in load(db, dataset, args.batch_size, args.replace, not args.quiet):
                print(
                    f"{report.collection}: {report.total} documents "
                    f"({report.inserted} inserted, {report.expected - report.inserted} "
                    "already there)"
                )
        indexes = ", ".join(f"{c}.{f}" for c, specs in INDEXES.items() for f, _ in specs)
        print(f"indexes: {indexes}")
        print(f"Loaded {args.db} in {time.perf_counter() - start:.2f} seconds")
    finally:
        mongo.close()


def run(args: argparse.Namespace) -> int:
    """``ray101 data load``: exit 0 loaded, 1 failed (2, a user's mistake, is raised)."""
    setup_logging()
    uri = preflight(
        args.uri,
        args.standin,
        "no MongoDB to load into",
        "for a dry run on the nx-27017 stand-in",
    )
    try:
        # The stand-in starts empty: what it holds is loaded (and reported) below.
        with server(uri) as found:
            _load_into(found.uri, args)
    except (PyMongoError, RuntimeError) as exc:
        print(f"error: load failed: {client.redact(str(exc), uri)}", file=sys.stderr)
        return EXIT_FAILED
    if found.standin:
        print("(the stand-in and its data are gone now: this was a dry run)")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """``ray101 data load``: exit 0 loaded, 1 failed, 2 a user's mistake."""
    return run_command(lambda: run(build_parser().parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
