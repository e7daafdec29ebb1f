"""The partitioned mode's plan: the heaviest pipeline (the movies scan) split
into disjoint ``year`` ranges of about the same number of movies each.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from jobs.mongo.pipelines import NOT_PER_DOCUMENT, Pipeline, stage_names
from jobs.runtime.errors import UsageError

# The partitioned mode splits this pipeline on this field.
PARTITIONED_PIPELINE = "movies"
PARTITION_FIELD = "year"


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


def part_counts(histogram: dict[float, int], bounds: Sequence[float]) -> list[int]:
    """How many documents of ``histogram`` fall in each range that ``bounds`` make."""
    counts = [0] * (len(bounds) + 1)
    for key, n in histogram.items():
        counts[sum(key >= b for b in bounds)] += n
    return counts


def balance_problems(histogram: dict[float, int], bounds: Sequence[float], parts: int) -> list[str]:
    """Why ``bounds`` do not split ``histogram`` evenly into ``parts``: a range may
    exceed an even share only by what one key holds (a year cannot be split)."""
    counts = part_counts(histogram, bounds)
    total = sum(counts)
    limit = total / parts + max(histogram.values(), default=0)
    return [
        f"range {i} holds {n} of {total} documents (at most {limit:.0f} for {parts} even parts)"
        for i, n in enumerate(counts)
        if n > limit
    ]


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
    bounds = partition_bounds(histogram, parts)
    problems = balance_problems(histogram, bounds, parts)
    if problems:  # a bug in partition_bounds: the parallel scan would wait on one range
        raise RuntimeError(f"unbalanced partition plan: {'; '.join(problems)}")
    return range_filters(field_name, bounds)


def check_partitionable(pipeline: Pipeline) -> None:
    """Refuse a pipeline whose result on the parts would not add up to the whole's."""
    blocking = sorted(set(stage_names(pipeline.stages)) & NOT_PER_DOCUMENT)
    if blocking:
        raise UsageError(f"pipeline {pipeline.name!r} cannot be partitioned: it uses {blocking}")
