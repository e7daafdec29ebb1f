"""The aggregations the workload runs: the built-in pipelines, the ones given
with ``--extra-pipeline``, and the refusal of stages that write.

A :class:`Pipeline` is what a user names; a :class:`Task` is what an
Aggregator actor runs: a pipeline, or one partition of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bson import json_util

from jobs.runtime.errors import UsageError

# Stages that write to the database; refused unless --allow-writes.
WRITE_STAGES = frozenset({"$out", "$merge"})
# Stages after which the order of the output no longer follows an earlier $sort.
REORDERING = frozenset({"$group", "$bucket", "$bucketAuto", "$facet", "$unionWith", "$sample"})
# Stages that combine or drop documents by position; a pipeline made only of
# other stages gives the same documents on disjoint parts of a collection.
NOT_PER_DOCUMENT = REORDERING | frozenset(
    {"$sort", "$limit", "$skip", "$count", "$sortByCount", "$out", "$merge", "$setWindowFields"}
)


def stage_names(stages: Sequence[dict[str, Any]]) -> list[str]:
    return [next(iter(stage), "") for stage in stages]


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
        names = stage_names(self.stages)
        sorts = [i for i, n in enumerate(names) if n in ("$sort", "$sortByCount")]
        return bool(sorts) and not any(n in REORDERING for n in names[sorts[-1] + 1 :])


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


@dataclass(frozen=True)
class Task:
    """What an Aggregator runs: a pipeline, or one partition of it."""

    pipeline: str
    collection: str
    stages: list[dict[str, Any]]
    keep_rows: bool
    ordered: bool
    partition: int | None = None

    @property
    def label(self) -> str:
        return self.pipeline if self.partition is None else f"{self.pipeline}[{self.partition}]"


def task_for(
    pipeline: Pipeline, match: dict[str, Any] | None = None, part: int | None = None
) -> Task:
    stages = pipeline.stages if match is None else [{"$match": match}, *pipeline.stages]
    return Task(
        pipeline.name, pipeline.collection, stages, pipeline.keep_rows, pipeline.ordered, part
    )


# ---------------------------------------------------------------- from flags


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
    """The built-in pipelines plus ``--extra-pipeline``; writes refused unless allowed."""
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
