"""sample_mflix-shaped data: a deterministic generator and ``ray101 data load``.

    ray101 data load [--uri URI] [--db sample_mflix] [--movies 21349] [--comments 41079]
                     [--seed 101] [--replace] [--archive PATH] [--standin]

The same (seed, movies, comments) always gives byte-for-byte the same
documents, ``_id`` values included, so a second load finds every document in
place and adds nothing, and tests can compute expected answers in plain
Python from the very documents the server holds.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import random
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import PyMongoError
from tqdm import tqdm

from jobs import command, flags, mongo_client
from jobs.errors import UsageError

log = logging.getLogger(__name__)

# The sizes of the real sample_mflix data set.
DEFAULT_MOVIES = 21_349
DEFAULT_COMMENTS = 41_079
DEFAULT_SEED = 101
DEFAULT_BATCH = 1_000

# Indexes the workload's pipelines use: year ranges partition the movies,
# comments are looked up by the movie they belong to.
INDEXES: dict[str, list[tuple[str, int]]] = {
    "movies": [("year", ASCENDING)],
    "comments": [("movie_id", ASCENDING)],
}

GENRES = (
    ("Drama", 120), ("Comedy", 70), ("Romance", 35), ("Crime", 30), ("Thriller", 28),
    ("Action", 27), ("Adventure", 20), ("Documentary", 18), ("Horror", 14), ("Mystery", 12),
    ("Biography", 11), ("Family", 9), ("Fantasy", 9), ("Sci-Fi", 8), ("History", 8),
    ("Animation", 7), ("Music", 7), ("War", 6), ("Sport", 5), ("Musical", 4), ("Short", 4),
    ("Western", 3), ("Film-Noir", 2), ("News", 1),
)  # fmt: skip
RATED = ("G", "PG", "PG-13", "R", "NOT RATED", "APPROVED", "TV-14", "UNRATED")
COUNTRIES = ("USA", "UK", "France", "Germany", "Italy", "Japan", "Canada", "India", "Spain")
LANGUAGES = ("English", "French", "German", "Italian", "Japanese", "Spanish", "Hindi")
FIRST = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Charles", "Karen", "Ned", "Catelyn", "Jon", "Arya", "Sansa", "Bran", "Tyrion",
)  # fmt: skip
LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Lopez",
    "Lee", "Harris", "Clark", "Lewis", "Walker", "Hall", "Young", "Stark", "Lannister",
)  # fmt: skip
WORDS = (
    "the", "a", "of", "and", "to", "in", "his", "her", "young", "man", "woman", "family",
    "life", "love", "war", "city", "town", "night", "world", "story", "friend", "secret",
    "journey", "past", "home", "after", "new", "two", "old", "finds", "must", "becomes",
    "their", "small", "dark", "true", "lost", "last", "first", "escape", "murder", "dream",
    "between", "against", "mysterious", "brother", "sister", "father", "mother", "wife",
    "husband", "daughter", "son", "school", "police", "detective", "killer", "soldier",
    "king", "queen", "river", "mountain", "sea", "island", "train", "road", "summer",
)  # fmt: skip
TITLE_WORDS = (
    "Silent", "River", "Night", "Last", "Stranger", "Empire", "Shadow", "Garden", "Road",
    "Crimson", "Winter", "Summer", "Iron", "Golden", "Broken", "Hidden", "City", "Storm",
    "Echo", "Harbor", "Wild", "Paper", "Glass", "Fire", "Moon", "Island", "Kingdom", "Ghost",
)  # fmt: skip

# ObjectId timestamps in the range of the real data set's ids.
_MOVIE_EPOCH = 0x573A1390
_COMMENT_EPOCH = 0x5A942764


@dataclass(frozen=True)
class Dataset:
    movies: list[dict[str, Any]]
    comments: list[dict[str, Any]]


def object_id(kind: str, index: int, tag: bytes) -> ObjectId:
    """A deterministic ObjectId: timestamp, 5-byte data-set tag, 3-byte counter."""
    epoch = _MOVIE_EPOCH if kind == "movies" else _COMMENT_EPOCH
    return ObjectId(
        struct.pack(">I", epoch + index // 0x1000000) + tag + (index % 0x1000000).to_bytes(3, "big")
    )


def dataset_tag(kind: str, seed: int, movies: int, comments: int) -> bytes:
    """Five bytes that differ between data sets, so two never share an ``_id``."""
    return hashlib.blake2b(f"{kind}:{seed}:{movies}:{comments}".encode(), digest_size=5).digest()


def _sentence(rng: random.Random, low: int, high: int) -> str:
    words = rng.choices(WORDS, k=rng.randint(low, high))
    return " ".join(words).capitalize() + "."


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _year(rng: random.Random) -> int:
    # Like sample_mflix: 1896..2016, most of it after 1980.
    return max(1896, 2016 - int(rng.expovariate(1 / 22)))


def _movie(rng: random.Random, index: int, _id: ObjectId) -> dict[str, Any]:
    year = _year(rng)
    genre_names, weights = zip(*GENRES, strict=True)
    genres = sorted(set(rng.choices(genre_names, weights=weights, k=rng.randint(1, 3))))
    released = datetime(year, rng.randint(1, 12), rng.randint(1, 28))
    doc: dict[str, Any] = {
        "_id": _id,
        "plot": _sentence(rng, 12, 30),
        "genres": genres,
        "runtime": rng.randint(62, 198),
        "cast": [_person(rng) for _ in range(rng.randint(2, 5))],
        "num_mflix_comments": 0,  # filled in once the comments are drawn
        "title": f"{rng.choice(TITLE_WORDS)} {rng.choice(TITLE_WORDS)} {index}",
        "fullplot": _sentence(rng, 40, 90),
        "languages": rng.sample(LANGUAGES, k=rng.randint(1, 2)),
        "released": released,
        "directors": [_person(rng) for _ in range(rng.randint(1, 2))],
        "rated": rng.choice(RATED),
        "awards": {"wins": rng.randint(0, 9), "nominations": rng.randint(0, 15)},
        "lastupdated": f"2015-0{rng.randint(1, 9)}-1{rng.randint(0, 9)} 00:00:00.000000000",
        "year": year,
        "imdb": {
            "rating": round(min(9.6, max(1.2, rng.gauss(6.6, 1.1))), 1),
            "votes": int(rng.lognormvariate(7.5, 1.6)) + 5,
            "id": 1_000 + index,
        },
        "countries": rng.sample(COUNTRIES, k=rng.randint(1, 2)),
        "type": "movie",
    }
    # Some real movies have no genres and some no rating; the pipelines must
    # cope ($unwind drops the former, $avg ignores the latter).
    if rng.random() < 0.01:
        del doc["genres"]
    if rng.random() < 0.02:
        del doc["imdb"]["rating"]
    return doc


def generate(
    movies: int = DEFAULT_MOVIES, comments: int = DEFAULT_COMMENTS, seed: int = DEFAULT_SEED
) -> Dataset:
    """The documents for (movies, comments, seed); the same arguments, the same bytes."""
    if movies < 1 or comments < 0:
        raise ValueError("need at least one movie and no negative comment count")
    movie_tag = dataset_tag("movies", seed, movies, comments)
    comment_tag = dataset_tag("comments", seed, movies, comments)
    rng = random.Random(seed)
    movie_docs = [_movie(rng, i, object_id("movies", i, movie_tag)) for i in range(movies)]

    # A few movies draw most comments (as in the real data, where the top
    # movie has ~160): Zipf-like weights over a shuffled order of movies.
    order = list(range(movies))
    rng.shuffle(order)
    cumulative, total = [], 0.0
    for rank in range(movies):
        total += 1.0 / (rank + 3) ** 0.9
        cumulative.append(total)
    targets = rng.choices(order, cum_weights=cumulative, k=comments)

    start = datetime(1975, 1, 1)
    comment_docs = []
    for j, target in enumerate(targets):
        movie_docs[target]["num_mflix_comments"] += 1
        name = _person(rng)
        comment_docs.append(
            {
                "_id": object_id("comments", j, comment_tag),
                "name": name,
                "email": f"{name.lower().replace(' ', '_')}@fakegmail.com",
                "movie_id": movie_docs[target]["_id"],
                "text": _sentence(rng, 15, 45),
                # Whole milliseconds: BSON dates keep no finer time.
                "date": start + timedelta(milliseconds=rng.randrange(0, 42 * 365 * 86_400_000)),
            }
        )
    return Dataset(movies=movie_docs, comments=comment_docs)


# ---------------------------------------------------------------- loading


@dataclass
class LoadReport:
    collection: str
    expected: int
    inserted: int
    total: int
    foreign: int


def _batches(docs: Sequence[dict], size: int) -> Iterator[Sequence[dict]]:
    for start in range(0, len(docs), size):
        yield docs[start : start + size]


def load_collection(
    db: Database,
    name: str,
    docs: Sequence[dict[str, Any]],
    batch_size: int = DEFAULT_BATCH,
    replace: bool = False,
    progress: bool = True,
) -> LoadReport:
    """Insert the documents that are not there yet; with ``replace``, start empty.

    Idempotent on any server: the ids already present are read first and
    skipped, so it needs no unique-index error handling, and an interrupted
    load resumes where it stopped.
    """
    coll = db[name]
    if replace:
        coll.drop()
    wanted = {d["_id"] for d in docs}
    present = {d["_id"] for d in coll.find({}, {"_id": 1})}
    foreign = len(present - wanted)
    if foreign and not replace:
        raise UsageError(
            f"{db.name}.{name} already holds {foreign} documents of another data set "
            "(other --seed/--movies/--comments, or real data); pass --replace to overwrite it"
        )
    missing = [d for d in docs if d["_id"] not in present]
    with tqdm(
        total=len(docs),
        initial=len(docs) - len(missing),
        desc=f"{name:<8}",
        unit="doc",
        file=sys.stderr,
        disable=not progress,
        mininterval=0.5,
    ) as bar:
        for batch in _batches(missing, batch_size):
            # Copies: insert_many adds _id to documents that lack one, and the
            # caller's list must stay as generated.
            coll.insert_many([dict(d) for d in batch], ordered=False)
            bar.update(len(batch))
    for spec in INDEXES.get(name, []):
        coll.create_index([spec])
    return LoadReport(
        collection=name,
        expected=len(docs),
        inserted=len(missing),
        total=coll.count_documents({}),
        foreign=foreign,
    )


def load(
    db: Database,
    dataset: Dataset,
    batch_size: int = DEFAULT_BATCH,
    replace: bool = False,
    progress: bool = True,
) -> list[LoadReport]:
    return [
        load_collection(db, "movies", dataset.movies, batch_size, replace, progress),
        load_collection(db, "comments", dataset.comments, batch_size, replace, progress),
    ]


def ensure_indexes(db: Database) -> None:
    for name, specs in INDEXES.items():
        for spec in specs:
            db[name].create_index([spec])


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
    print(mongo_client.redact(" ".join(command), uri), file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"mongorestore failed: {mongo_client.redact(last[0], uri)}")


# ------------------------------------------------------------------ CLI


def add_dataset_arguments(parser: argparse.ArgumentParser, purpose: str = "") -> None:
    """Where the data lives and what to generate: shared by `ray101 data load`
    and the mongo workload (which generates only for the stand-in)."""
    parser.add_argument(
        "--uri", default=None, help=f"MongoDB connection string (default: ${mongo_client.URI_ENV})"
    )
    parser.add_argument(
        "--db", default=mongo_client.DEFAULT_DB, help="database name (default: sample_mflix)"
    )
    parser.add_argument(
        "--movies",
        type=flags.positive_int,
        default=DEFAULT_MOVIES,
        help=f"movies to generate{purpose} (default {DEFAULT_MOVIES}, the real data set's size)",
    )
    parser.add_argument(
        "--comments",
        type=flags.positive_int,
        default=DEFAULT_COMMENTS,
        help=f"comments to generate{purpose} (default {DEFAULT_COMMENTS})",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"generator seed (default {DEFAULT_SEED})"
    )


def build_parser() -> flags.ArgumentParser:
    parser = flags.ArgumentParser(
        prog="ray101 data load",
        description="Load sample_mflix-shaped movies and comments into MongoDB.",
    )
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
    return parser


def _load_into(uri: str, args: argparse.Namespace) -> None:
    start = time.perf_counter()
    client = mongo_client.connect(uri)
    try:
        db = client[args.db]
        if args.archive is not None:
            restore_archive(uri, args.db, args.archive, args.replace)
            ensure_indexes(db)
            for name in ("movies", "comments"):
                print(f"{name}: {db[name].count_documents({})} documents")
        else:
            dataset = generate(args.movies, args.comments, args.seed)
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
        client.close()


def load_main(argv: Sequence[str] | None = None) -> int:
    """``ray101 data load``: exit 0 loaded, 1 failed, 2 a user's mistake."""
    uri = None
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
        uri = mongo_client.resolve_uri(args.uri)
        mongo_client.install_log_redaction(uri)
        if uri:
            _load_into(uri, args)
        elif args.standin:
            from jobs.mongo_standin import standin

            with standin() as standin_uri:
                _load_into(standin_uri, args)
            print("(the stand-in and its data are gone now: this was a dry run)")
        else:
            raise UsageError(
                f"no MongoDB to load into: set {mongo_client.URI_ENV}, pass --uri URI, "
                "or --standin for a dry run on the nx-27017 stand-in"
            )
        return command.EXIT_OK
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return command.EXIT_USAGE
    except (PyMongoError, RuntimeError) as exc:
        print(f"error: load failed: {mongo_client.redact(str(exc), uri)}", file=sys.stderr)
        return command.EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    return load_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
