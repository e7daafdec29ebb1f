"""Loading a generated data set into a database: idempotent, resumable, indexed."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.database import Database
from tqdm import tqdm

from jobs.mongo.data import INDEXES, Dataset
from jobs.runtime.errors import UsageError

DEFAULT_BATCH = 1_000


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


def create_indexes(db: Database, name: str) -> None:
    """The indexes of :data:`INDEXES` on one collection (a no-op where they exist)."""
    for spec in INDEXES.get(name, []):
        db[name].create_index([spec])


def ensure_indexes(db: Database) -> None:
    for name in INDEXES:
        create_indexes(db, name)


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
    load resumes where it stopped. The indexes come last: their presence
    tells a waiting job that the collection is complete.
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
    create_indexes(db, name)
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
