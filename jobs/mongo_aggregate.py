"""MongoDB aggregations on sample_mflix: sequential, actors, a warm pool, partitioned.

The tutorial ran two ``{"$match": {}}`` scans one after another (0.77 s) and
in two freshly started Aggregator actors (1.44 s), and concluded that Ray's
overhead lost. This workload measures four designs side by side on the same
pipelines and checks that they all return the same results:

- ``sequential``: the driver runs every pipeline in turn on one client;
- ``actors``: the tutorial's design, one new Aggregator actor per pipeline,
  actor start-up included in the time;
- ``pool``: a warm pool of Aggregator actors, start-up paid once and reported
  on its own line, pipelines handed to whichever actor is free;
- ``partitioned``: the heaviest pipeline (the movies scan) split into
  disjoint ``year`` ranges on the pool and merged in the driver.

Every mode runs the same code per pipeline (:meth:`Aggregator.run`): it reads
raw BSON, keeps the rows of small analytical results and a count plus an
order-aware or order-free checksum of everything, and returns that through
the object store, so 60,000 documents never need to cross it.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import os
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import bson
import ray
from bson import json_util
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.errors import ConnectionFailure
from ray.exceptions import ActorUnavailableError, RayActorError

from jobs import flags, mongo_client, mongo_data, runner
from jobs.cluster import IO_TASK_CPUS
from jobs.errors import UsageError
from jobs.report import JobResult, speedup

NAME = "mongo"

log = logging.getLogger(__name__)

DEFAULT_POOL_SIZE = 4
DEFAULT_BATCH_SIZE = 5_000
DEFAULT_MAX_TIME_MS = 60_000
# A crashed actor comes back this many times before Ray gives up on it.
ACTOR_RESTARTS = 2
# Stages that write to the database; refused unless --allow-writes.
WRITE_STAGES = frozenset({"$out", "$merge"})
# Stages after which the order of the output no longer follows an earlier $sort.
_REORDERING = frozenset({"$group", "$bucket", "$bucketAuto", "$facet", "$unionWith", "$sample"})
# Stages that combine or drop documents by position; a pipeline made only of
# other stages gives the same documents on disjoint parts of a collection.
_NOT_PER_DOCUMENT = _REORDERING | frozenset(
    {"$sort", "$limit", "$skip", "$count", "$sortByCount", "$out", "$merge", "$setWindowFields"}
)
_RAW = CodecOptions(document_class=RawBSONDocument)
_MOD = 1 << 128


@dataclass(frozen=True)
class Pipeline:
    """One aggregation: where it runs, its stages, and what to keep of its output."""

    name: str
    collection: str
    stages: list[dict[str, Any]]
    # Small analytical results are kept row by row; a scan is kept as a count
    # and a checksum, which is enough to prove two modes returned the same.
    keep_rows: bool = True

    @property
    def ordered(self) -> bool:
        """True when a $sort decides the output order (compare in order)."""
        names = [next(iter(stage), "") for stage in self.stages]
        sorts = [i for i, n in enumerate(names) if n in ("$sort", "$sortByCount")]
        return bool(sorts) and not any(n in _REORDERING for n in names[sorts[-1] + 1 :])

    def summary(self) -> str:
        return f"{self.name} on {self.collection}: {json_util.dumps(self.stages)}"


# The tutorial's two scans, then three analytical questions about the films.
PIPELINES: tuple[Pipeline, ...] = (
    Pipeline("movies", "movies", [{"$match": {}}], keep_rows=False),
    Pipeline("comments", "comments", [{"$match": {}}], keep_rows=False),
    Pipeline(
        "top_genres",
        "movies",
        [
            {"$unwind": "$genres"},
            {
                "$group": {
                    "_id": "$genres",
                    "count": {"$sum": 1},
                    "avg_rating": {"$avg": "$imdb.rating"},
                }
            },
            {"$sort": {"count": -1, "_id": 1}},
        ],
    ),
    Pipeline(
        "movies_per_decade",
        "movies",
        [
            # Real sample_mflix has a few string years ("2012è"); $mod would fail on them.
            {"$match": {"year": {"$type": "number"}}},
            {
                "$group": {
                    "_id": {"$subtract": ["$year", {"$mod": ["$year", 10]}]},
                    "count": {"$sum": 1},
                }
            },
            {"$sort": {"_id": 1}},
        ],
    ),
    Pipeline(
        "most_commented",
        "comments",
        [
            {"$group": {"_id": "$movie_id", "comments": {"$sum": 1}}},
            {"$sort": {"comments": -1, "_id": 1}},
            {"$limit": 10},
            {
                "$lookup": {
                    "from": "movies",
                    "localField": "_id",
                    "foreignField": "_id",
                    "as": "movie",
                }
            },
            {"$unwind": "$movie"},
            {"$project": {"title": "$movie.title", "year": "$movie.year", "comments": 1}},
        ],
    ),
)

# The partitioned mode splits this pipeline on this field.
PARTITIONED_PIPELINE = "movies"
PARTITION_FIELD = "year"


@dataclass(frozen=True)
class Task:
    """What an Aggregator runs: a pipeline, or one partition of it."""

    pipeline: str
    collection: str
    stages: list[dict[str, Any]]
    keep_rows: bool
    ordered: bool
    partition: int | None = None


def task_for(
    pipeline: Pipeline, match: dict[str, Any] | None = None, part: int | None = None
) -> Task:
    stages = pipeline.stages if match is None else [{"$match": match}, *pipeline.stages]
    return Task(
        pipeline.name, pipeline.collection, stages, pipeline.keep_rows, pipeline.ordered, part
    )


@dataclass
class Outcome:
    """A pipeline's result as every mode reports it."""

    count: int
    digest: str
    rows: list[dict[str, Any]] | None
    seconds: float = 0.0
    where: str = ""

    def same_as(self, other: Outcome) -> bool:
        return self.count == other.count and self.digest == other.digest


# ---------------------------------------------------------------- checksums


def doc_hash(raw: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(raw, digest_size=16).digest(), "big")


class Checksum:
    """Checksum of BSON documents as they stream by: in order, or as a multiset
    (a sum of hashes, so the checksums of disjoint parts add up to the whole's)."""

    def __init__(self, ordered: bool) -> None:
        self.ordered = ordered
        self._stream = hashlib.blake2b(digest_size=16)
        self._total = 0

    def add(self, raw: bytes) -> None:
        if self.ordered:
            self._stream.update(raw)  # BSON documents carry their length: no separator needed
        else:
            self._total = (self._total + doc_hash(raw)) % _MOD

    def hexdigest(self) -> str:
        if self.ordered:
            return "seq:" + self._stream.hexdigest()
        return f"set:{self._total:032x}"


def digest_of(raw_docs: Iterable[bytes], ordered: bool) -> str:
    checksum = Checksum(ordered)
    for raw in raw_docs:
        checksum.add(raw)
    return checksum.hexdigest()


def merge(outcomes: Sequence[Outcome]) -> Outcome:
    """The outcome of a pipeline from the outcomes of its disjoint partitions."""
    if any(o.digest.startswith("seq:") for o in outcomes):
        raise ValueError("ordered results cannot be merged by adding checksums")
    total = sum(int(o.digest[4:], 16) for o in outcomes) % _MOD
    rows = None
    if all(o.rows is not None for o in outcomes):
        rows = [row for o in outcomes for row in o.rows or []]
    return Outcome(
        count=sum(o.count for o in outcomes),
        digest=f"set:{total:032x}",
        rows=rows,
        seconds=max((o.seconds for o in outcomes), default=0.0),
        where=", ".join(sorted({o.where for o in outcomes})),
    )


def same_values(a: Any, b: Any, rel_tol: float = 1e-9) -> bool:
    """Deep equality where floats may differ by summation order."""
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-12)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_values(a[k], b[k], rel_tol) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(
            same_values(x, y, rel_tol) for x, y in zip(a, b, strict=True)
        )
    return a == b


# ---------------------------------------------------------------- the actor


def run_task(db, task: Task, batch_size: int, max_time_ms: int) -> Outcome:
    """Run one aggregation and summarise it; the same code in the driver and in actors.

    Documents stay raw BSON: a scan is hashed as it streams in and never decoded.
    """
    start = time.perf_counter()
    coll = db.get_collection(task.collection, codec_options=_RAW)
    checksum, count = Checksum(task.ordered), 0
    rows: list[dict[str, Any]] | None = [] if task.keep_rows else None
    with coll.aggregate(task.stages, batchSize=batch_size, maxTimeMS=max_time_ms) as cursor:
        for doc in cursor:
            count += 1
            checksum.add(doc.raw)
            if rows is not None:
                rows.append(bson.decode(doc.raw))
    return Outcome(
        count=count,
        digest=checksum.hexdigest(),
        rows=rows,
        seconds=time.perf_counter() - start,
        where=f"pid {os.getpid()}",
    )


class Aggregator:
    """One MongoClient (a connection pool) per process, as in the tutorial.

    Used directly by the sequential mode and as a Ray actor by the others, so
    every mode runs the same aggregation code.
    """

    def __init__(self, uri: str, database: str, batch_size: int, max_time_ms: int) -> None:
        self.client = mongo_client.make_client(uri)
        self.db = self.client[database]
        self.batch_size = batch_size
        self.max_time_ms = max_time_ms

    def ready(self) -> dict[str, Any]:
        """Connect now, so a warm actor has paid for its connection too."""
        self.client.admin.command("ping")
        return {"pid": os.getpid(), "host": socket.gethostname()}

    def run(self, task: Task) -> Outcome:
        return run_task(self.db, task, self.batch_size, self.max_time_ms)

    def close(self) -> None:
        self.client.close()


# Aggregations wait on the server: a fraction of a CPU each (see IO_TASK_CPUS).
# max_task_retries=0: a call that was running when its actor died fails, and
# the pool decides (retry once) instead of Ray re-running it silently.
AggregatorActor = ray.remote(
    num_cpus=IO_TASK_CPUS, max_restarts=ACTOR_RESTARTS, max_task_retries=0
)(Aggregator)

# Failures worth one more try: the actor died (it restarts), or the network
# dropped. A refused pipeline (OperationFailure) fails the same way again.
RETRYABLE = (RayActorError, ActorUnavailableError, ConnectionFailure)


# ---------------------------------------------------------------- modes


@dataclass
class Settings:
    uri: str
    database: str
    batch_size: int = DEFAULT_BATCH_SIZE
    max_time_ms: int = DEFAULT_MAX_TIME_MS

    def actor(self):
        return AggregatorActor.remote(self.uri, self.database, self.batch_size, self.max_time_ms)


def run_sequential(settings: Settings, tasks: Sequence[Task]) -> list[Outcome]:
    """The tutorial's baseline: one client in the driver, one pipeline after another."""
    aggregator = Aggregator(
        settings.uri, settings.database, settings.batch_size, settings.max_time_ms
    )
    try:
        return [aggregator.run(t) for t in tasks]
    finally:
        aggregator.close()


def _kill(actors: Sequence[Any]) -> None:
    for actor in actors:
        ray.kill(actor)


def _label(task: Task) -> str:
    return task.pipeline if task.partition is None else f"{task.pipeline}[{task.partition}]"


class AggregatorPool:
    """Warm Aggregator actors; pipelines go to whichever actor is free.

    A call whose actor died, or whose connection dropped, is retried once
    (on the restarted actor or another one).
    """

    def __init__(self, settings: Settings, size: int) -> None:
        self.settings = settings
        self.actors = [settings.actor() for _ in range(size)]
        self.retries = 0
        self.info: list[dict[str, Any]] = []

    def wait_ready(self) -> list[dict[str, Any]]:
        self.info = ray.get([a.ready.remote() for a in self.actors])
        return self.info

    def start(self, tasks: Sequence[Task]) -> PoolRun:
        """Hand out the first task to every actor now; :meth:`PoolRun.result` does the rest."""
        return PoolRun(self, tasks)

    def run(self, tasks: Sequence[Task]) -> list[Outcome]:
        return self.start(tasks).result()

    def close(self) -> None:
        _kill(self.actors)
        self.actors = []


class PoolRun:
    """One batch of tasks in flight on a pool: a work queue, one call per actor."""

    def __init__(self, pool: AggregatorPool, tasks: Sequence[Task]) -> None:
        self.pool = pool
        self.tasks = list(tasks)
        self.queue: deque[int] = deque(range(len(self.tasks)))
        self.idle: deque[int] = deque(range(len(pool.actors)))
        self.inflight: dict[Any, tuple[int, int]] = {}  # ref -> (task, actor)
        self._fill()

    def _fill(self) -> None:
        while self.queue and self.idle:
            index, actor = self.queue.popleft(), self.idle.popleft()
            ref = self.pool.actors[actor].run.remote(self.tasks[index])
            self.inflight[ref] = (index, actor)

    def result(self) -> list[Outcome]:
        results: dict[int, Outcome] = {}
        tried: set[int] = set()
        while self.inflight:
            [ref], _ = ray.wait(list(self.inflight), num_returns=1)
            index, actor = self.inflight.pop(ref)
            self.idle.append(actor)
            try:
                results[index] = ray.get(ref)
            except RETRYABLE as exc:
                if index in tried:
                    raise
                tried.add(index)
                self.pool.retries += 1
                log.warning(
                    "%s failed on actor %d (%s); retrying once",
                    _label(self.tasks[index]),
                    actor,
                    type(exc).__name__,
                )
                self.queue.appendleft(index)
            self._fill()
        return [results[i] for i in range(len(self.tasks))]


def run_actors(settings: Settings, tasks: Sequence[Task]) -> tuple[list[Outcome], int]:
    """The tutorial's design: a new actor per pipeline, its start-up in the time."""
    actors = AggregatorPool(settings, len(tasks))
    try:
        return actors.run(tasks), actors.retries
    finally:
        actors.close()


# ---------------------------------------------------------------- partitions


def partition_bounds(histogram: dict[float, int], parts: int) -> list[float]:
    """Up to ``parts - 1`` increasing boundaries that split the counts evenly."""
    keys = sorted(histogram)
    total = sum(histogram.values())
    bounds: list[float] = []
    seen = 0
    for key in keys:
        # A boundary goes before the key at which the next share begins.
        if seen and seen >= total * (len(bounds) + 1) / parts and len(bounds) < parts - 1:
            bounds.append(key)
        seen += histogram[key]
    return bounds


def range_filters(field_name: str, bounds: Sequence[float]) -> list[dict[str, Any]]:
    """Disjoint filters that together match every document.

    Numeric ranges only match numbers, so the first part also takes the
    documents whose field is missing or not a number.
    """
    not_a_number = {"$nor": [{field_name: {"$type": "number"}}]}
    if not bounds:
        return [{}]
    filters: list[dict[str, Any]] = [{"$or": [{field_name: {"$lt": bounds[0]}}, not_a_number]}]
    filters += [{field_name: {"$gte": lo, "$lt": hi}} for lo, hi in pairwise(bounds)]
    filters.append({field_name: {"$gte": bounds[-1]}})
    return filters


def plan_partitions(db, pipeline: Pipeline, field_name: str, parts: int) -> list[dict[str, Any]]:
    """Year ranges holding about the same number of movies each."""
    counts = db[pipeline.collection].aggregate(
        [
            {"$match": {field_name: {"$type": "number"}}},
            {"$group": {"_id": f"${field_name}", "n": {"$sum": 1}}},
        ]
    )
    histogram = {row["_id"]: row["n"] for row in counts}
    return range_filters(field_name, partition_bounds(histogram, parts))


def check_partitionable(pipeline: Pipeline) -> None:
    names = {next(iter(stage), "") for stage in pipeline.stages}
    blocking = sorted(names & _NOT_PER_DOCUMENT)
    if blocking:
        raise UsageError(f"pipeline {pipeline.name!r} cannot be partitioned: it uses {blocking}")


# ---------------------------------------------------------------- pipelines from flags


def write_stages(stages: Any) -> set[str]:
    """Every $out/$merge in a pipeline, sub-pipelines ($facet, $lookup, $unionWith) included."""
    found: set[str] = set()
    if isinstance(stages, dict):
        for key, value in stages.items():
            if key in WRITE_STAGES:
                found.add(key)
            found |= write_stages(value)
    elif isinstance(stages, list):
        for item in stages:
            found |= write_stages(item)
    return found


def parse_extra_pipeline(text: str) -> Pipeline:
    """``--extra-pipeline '{"name": ..., "collection": ..., "pipeline": [...]}'`` or ``@file.json``."""
    source = text
    if text.startswith("@"):
        try:
            source = Path(text[1:]).read_text()
        except OSError as exc:
            raise UsageError(f"--extra-pipeline {text}: {exc.strerror or exc}") from None
    try:
        spec = json_util.loads(source)
    except ValueError as exc:
        raise UsageError(f"--extra-pipeline is not valid (extended) JSON: {exc}") from None
    if not isinstance(spec, dict) or set(spec) - {"name", "collection", "pipeline"}:
        raise UsageError(
            '--extra-pipeline wants {"name": ..., "collection": ..., "pipeline": [...]}'
        )
    name, collection, stages = spec.get("name"), spec.get("collection"), spec.get("pipeline")
    if not isinstance(name, str) or not name or not isinstance(collection, str) or not collection:
        raise UsageError("--extra-pipeline needs a non-empty 'name' and 'collection'")
    if not isinstance(stages, list) or not all(isinstance(s, dict) and len(s) == 1 for s in stages):
        raise UsageError(f"--extra-pipeline {name!r}: 'pipeline' must be a list of one-key stages")
    return Pipeline(name, collection, stages, keep_rows=True)


def select_pipelines(extra: Sequence[str], allow_writes: bool) -> list[Pipeline]:
    pipelines = list(PIPELINES)
    for text in extra:
        pipeline = parse_extra_pipeline(text)
        if pipeline.name in {p.name for p in pipelines}:
            raise UsageError(f"--extra-pipeline: a pipeline is already named {pipeline.name!r}")
        pipelines.append(pipeline)
    for pipeline in pipelines:
        writes = write_stages(pipeline.stages)
        if writes and not allow_writes:
            raise UsageError(
                f"pipeline {pipeline.name!r} writes to the database ({', '.join(sorted(writes))}); "
                "pass --allow-writes to run it"
            )
    return pipelines


# ---------------------------------------------------------------- measuring


@dataclass
class Measured:
    """One mode's results and its fastest time over ``--repeat`` runs."""

    outcomes: list[Outcome]
    seconds: float
    retries: int = 0
    runs: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(o.count for o in self.outcomes)


def best_of(repeat: int, body: Callable[[], tuple[list[Outcome], int]]) -> Measured:
    """Run ``body`` ``repeat`` times and keep the fastest; every run must agree."""
    best: Measured | None = None
    runs: list[float] = []
    retries = 0
    for _ in range(repeat):
        start = time.perf_counter()
        outcomes, tried = body()
        runs.append(time.perf_counter() - start)
        retries += tried
        if best is not None and not all(
            a.same_as(b) for a, b in zip(best.outcomes, outcomes, strict=True)
        ):
            raise RuntimeError("two runs of the same mode returned different results")
        if best is None or runs[-1] < best.seconds:
            best = Measured(outcomes, runs[-1])
    assert best is not None
    best.retries, best.runs = retries, runs
    return best


@dataclass
class Benchmark:
    """Every mode of one run, and how each compares with the sequential one."""

    names: list[str]
    sequential: Measured
    actors: Measured
    pool_startup_s: float
    pool: Measured
    partitioned: Measured  # one merged outcome
    partition_filters: list[dict[str, Any]]
    partition_outcomes: list[Outcome]
    pool_info: list[dict[str, Any]]

    @property
    def baseline(self) -> Outcome:
        """The unsplit scan the partitioned mode must reproduce."""
        return self.sequential.outcomes[self.names.index(PARTITIONED_PIPELINE)]

    def disagreements(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {"actors": [], "pool": [], "partitioned": []}
        for mode in ("actors", "pool"):
            measured: Measured = getattr(self, mode)
            for name, a, b in zip(
                self.names, self.sequential.outcomes, measured.outcomes, strict=True
            ):
                if not a.same_as(b):
                    found[mode].append(name)
        if not self.partitioned.outcomes[0].same_as(self.baseline):
            found["partitioned"].append(PARTITIONED_PIPELINE)
        return found

    def timings(self) -> dict[str, float]:
        seq_s, base_s = self.sequential.seconds, self.baseline.seconds
        return {
            "sequential_s": seq_s,
            "actors_s": self.actors.seconds,
            "pool_startup_s": self.pool_startup_s,
            "pool_s": self.pool.seconds,
            "partitioned_s": self.partitioned.seconds,
            "partitioned_baseline_s": base_s,
            "actors_ratio": self.actors.seconds / seq_s,
            "pool_ratio": self.pool.seconds / seq_s,
            "pool_with_startup_ratio": (self.pool_startup_s + self.pool.seconds) / seq_s,
            "partitioned_ratio": self.partitioned.seconds / base_s if base_s > 0 else math.inf,
            # The keys every workload's summary table shows; the warm pool is "parallel".
            "parallel_s": self.pool.seconds,
            "speedup": speedup(seq_s, self.pool.seconds),
        }


def benchmark(
    settings: Settings,
    pipelines: Sequence[Pipeline],
    pool_size: int = DEFAULT_POOL_SIZE,
    partitions: int | None = None,
    repeat: int = 1,
    warmup: int = 1,
) -> Benchmark:
    """Run every mode against the server in ``settings`` (Ray must be connected)."""
    by_name = {p.name: p for p in pipelines}
    scan = by_name[PARTITIONED_PIPELINE]
    check_partitionable(scan)
    tasks = [task_for(p) for p in pipelines]

    for _ in range(max(0, warmup)):
        run_sequential(settings, tasks)
    sequential = best_of(repeat, lambda: (run_sequential(settings, tasks), 0))
    actors = best_of(repeat, lambda: run_actors(settings, tasks))

    start = time.perf_counter()
    pool = AggregatorPool(settings, pool_size)
    try:
        pool.wait_ready()
        client = mongo_client.make_client(settings.uri)
        try:
            filters = plan_partitions(
                client[settings.database], scan, PARTITION_FIELD, partitions or pool_size
            )
        finally:
            client.close()
        pool_startup_s = time.perf_counter() - start
        part_tasks = [task_for(scan, f, i) for i, f in enumerate(filters)]
        parts: list[Outcome] = []

        def pooled() -> tuple[list[Outcome], int]:
            before = pool.retries
            return pool.run(tasks), pool.retries - before

        def split() -> tuple[list[Outcome], int]:
            before = pool.retries
            parts[:] = pool.run(part_tasks)
            return [merge(parts)], pool.retries - before

        pooled_m = best_of(repeat, pooled)
        split_m = best_of(repeat, split)
        return Benchmark(
            names=[p.name for p in pipelines],
            sequential=sequential,
            actors=actors,
            pool_startup_s=pool_startup_s,
            pool=pooled_m,
            partitioned=split_m,
            partition_filters=filters,
            partition_outcomes=list(parts),
            pool_info=list(pool.info),
        )
    finally:
        pool.close()


# ---------------------------------------------------------------- the job


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mongo_data.add_dataset_arguments(parser, purpose=" for the stand-in")
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
        type=int,
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


def preflight(args: argparse.Namespace) -> None:
    """Checks that need no Ray, run before Ray starts so a mistake fails in seconds:
    write stages, a missing URI, an unreachable server."""
    args.pipelines = select_pipelines(args.extra_pipeline, args.allow_writes)
    args.uri = mongo_client.resolve_uri(args.uri)
    if args.uri:
        mongo_client.install_log_redaction(args.uri)
        mongo_client.connect(args.uri).close()
    elif not args.standin:
        raise UsageError(
            f"no MongoDB: set {mongo_client.URI_ENV}, pass --uri URI, "
            "or --standin to use the nx-27017 stand-in with generated data"
        )


@contextmanager
def server(args: argparse.Namespace) -> Iterator[tuple[str, bool]]:
    """The URI to use, and whether it is the stand-in (then started and loaded here)."""
    if args.uri:
        if args.standin:
            log.info("a MongoDB URI is set, so --standin is not used")
        yield args.uri, False
        return
    from jobs import mongo_standin

    with mongo_standin.standin() as uri:
        client = mongo_client.connect(uri)
        try:
            dataset = mongo_data.generate(args.movies, args.comments, args.seed)
            mongo_data.load(client[args.db], dataset, progress=sys.stderr.isatty())
        finally:
            client.close()
        yield uri, True


def _table(rows: list[list[str]]) -> list[str]:
    header = ["mode", "seconds", "vs sequential", "results", "same results"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        left, *middle, last = cells
        numbers = [c.rjust(w) for c, w in zip(middle, widths[1:-1], strict=True)]
        return "  ".join([left.ljust(widths[0]), *numbers, last]).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def _comparison(bench: Benchmark, problems: dict[str, list[str]]) -> list[str]:
    seq_s, base_s = bench.sequential.seconds, bench.baseline.seconds

    def row(mode: str, measured: Measured, base: float) -> list[str]:
        same = "NO: " + ", ".join(problems[mode]) if problems[mode] else "yes"
        ratio = f"{measured.seconds / base:.2f}x" if base > 0 else "-"
        return [mode, f"{measured.seconds:.2f}", ratio, str(measured.count), same]

    partitioned = row("partitioned", bench.partitioned, base_s)
    partitioned[0] = "partitioned*"
    return [
        *_table(
            [
                ["sequential", f"{seq_s:.2f}", "1.00x", str(bench.sequential.count), "(reference)"],
                row("actors", bench.actors, seq_s),
                ["pool start-up", f"{bench.pool_startup_s:.2f}", "-", "-", "-"],
                row("pool", bench.pool, seq_s),
                partitioned,
            ]
        ),
        f"* compared with the unsplit {PARTITIONED_PIPELINE} scan in the sequential run",
    ]


def _highlights(by_name: dict[str, Outcome]) -> list[str]:
    lines = []
    genres = by_name.get("top_genres")
    if genres and genres.rows:
        top = sorted(genres.rows, key=lambda r: (-r["count"], str(r["_id"])))[:5]
        cells = [
            f"{r['_id']} {r['count']} ({r['avg_rating']:.2f})"
            if isinstance(r.get("avg_rating"), int | float)
            else f"{r['_id']} {r['count']}"
            for r in top
        ]
        lines.append("Top genres (movies, mean imdb rating): " + ", ".join(cells))
    decades = by_name.get("movies_per_decade")
    if decades and decades.rows:
        cells = [f"{int(r['_id'])}s {r['count']}" for r in decades.rows]
        lines.append("Movies per decade: " + ", ".join(cells))
    commented = by_name.get("most_commented")
    if commented and commented.rows:
        cells = [f"{r.get('title')} ({r.get('year')}) {r['comments']}" for r in commented.rows[:5]]
        lines.append("Most commented: " + ", ".join(cells))
    return lines


def _json(value: Any) -> Any:
    """BSON values (ObjectId, datetime) as relaxed extended JSON."""
    return json_util._json_convert(value, json_util.RELAXED_JSON_OPTIONS)  # noqa: SLF001


def report(bench: Benchmark, pipelines: Sequence[Pipeline], context: dict[str, Any]) -> JobResult:
    problems = bench.disagreements()
    ok = not any(problems.values())
    timings = bench.timings()
    seq, label = bench.sequential, context["server"]
    lines = [
        f"Server: {label} at {context['uri']}",
        f"Database {context['database']}: {context['documents']['movies']} movies, "
        f"{context['documents']['comments']} comments",
        "Pipelines: " + ", ".join(bench.names),
        "",
        "Sequential aggregations without Ray (one client in the driver):",
        f"Number of results: {seq.count}",
        f"Execution time: {seq.seconds:.2f} seconds",
        "",
        "Parallel aggregations with Ray, a new Aggregator actor per pipeline (start-up included):",
        f"Number of results: {bench.actors.count}",
        f"Execution time: {bench.actors.seconds:.2f} seconds",
        "",
        f"Warm pool of {context['options']['pool_size']} Aggregator actors:",
        f"Start-up, paid once (actors, connections, partition plan): "
        f"{bench.pool_startup_s:.2f} seconds",
        f"Number of results: {bench.pool.count}",
        f"Execution time: {bench.pool.seconds:.2f} seconds",
        "",
        f"Partitioned: the {PARTITIONED_PIPELINE} scan in {len(bench.partition_filters)} "
        f"{PARTITION_FIELD} ranges on the pool, merged in the driver:",
        f"Number of results: {bench.partitioned.count}",
        f"Execution time: {bench.partitioned.seconds:.2f} seconds",
        "",
        *_comparison(bench, problems),
        "",
        *_highlights(dict(zip(bench.names, seq.outcomes, strict=True))),
        "",
        "All modes returned the same results."
        if ok
        else "MODES DISAGREE: "
        + "; ".join(f"{m}: {', '.join(n)}" for m, n in problems.items() if n),
    ]
    retries = bench.pool.retries + bench.partitioned.retries + bench.actors.retries
    if retries:
        lines.append(f"{retries} failed call(s) were retried.")
    if context["standin"]:
        lines.append(f"Measured against the {label}: these figures say nothing about MongoDB.")
    details = {
        **context,
        "pipelines": {
            p.name: {
                "collection": p.collection,
                "stages": _json(p.stages),
                "ordered": p.ordered,
                "count": o.count,
                "digest": o.digest,
                "sequential_s": o.seconds,
                "rows": None if o.rows is None else _json(o.rows[:25]),
            }
            for p, o in zip(pipelines, seq.outcomes, strict=True)
        },
        "partitions": [
            {"filter": _json(f), "count": o.count, "seconds": o.seconds}
            for f, o in zip(bench.partition_filters, bench.partition_outcomes, strict=True)
        ],
        "pool": {"actors": bench.pool_info, "retries": retries},
        "modes_equal": {mode: not names for mode, names in problems.items()},
        "runs_s": {
            "sequential": seq.runs,
            "actors": bench.actors.runs,
            "pool": bench.pool.runs,
            "partitioned": bench.partitioned.runs,
        },
    }
    return JobResult(
        name=NAME,
        ok=ok,
        result={"results": seq.count, "all_modes_equal": ok, "server": label},
        timings=timings,
        details=details,
        lines=lines,
        error=None
        if ok
        else "modes disagree: "
        + "; ".join(f"{m}: {', '.join(n)}" for m, n in problems.items() if n),
    )


def plot(result: JobResult):
    """``--out``: time per mode, the server it ran against in the title."""
    from jobs import bench

    t, d = result.timings, result.details
    return bench.bar_figure(
        {
            "sequential": t["sequential_s"],
            "actors": t["actors_s"],
            "pool start-up": t["pool_startup_s"],
            "pool": t["pool_s"],
            # The partitioned scan beside the same scan unsplit, not beside the whole run.
            f"{PARTITIONED_PIPELINE} scan": t["partitioned_baseline_s"],
            "partitioned": t["partitioned_s"],
        },
        title=f"mongo on {d['server']}",
    )


def run(args: argparse.Namespace, ctx: runner.Context) -> JobResult:
    pipelines = args.pipelines
    with server(args) as (uri, is_standin):
        shown_uri = mongo_client.redact(uri)
        client = mongo_client.connect(uri)
        try:
            db = client[args.db]
            if is_standin:
                from jobs import mongo_standin

                label = mongo_standin.label()
            else:
                label = mongo_client.server_label(client)
            sizes = {name: db[name].estimated_document_count() for name in ("movies", "comments")}
        finally:
            client.close()
        empty = [name for name, n in sizes.items() if n == 0]
        if empty:
            raise UsageError(
                f"{args.db}.{empty[0]} is empty on {shown_uri}: load it with `ray101 data load`"
            )
        settings = Settings(uri, args.db, args.batch_size, args.max_time_ms)
        result = benchmark(
            settings, pipelines, args.pool_size, args.partitions, args.repeat, args.warmup
        )
    context = {
        "server": label,
        "standin": is_standin,
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
    job = report(result, pipelines, context)
    return job


def main(argv=None) -> int:
    return runner.main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
