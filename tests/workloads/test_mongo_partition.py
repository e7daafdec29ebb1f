"""The partitioned mode's plan: range filters that are disjoint and complete,
bounds that stay balanced on skewed data, and an unbalanced plan refused where
it is made."""

from __future__ import annotations

from collections import Counter

import pytest

from jobs.mongo import partition
from jobs.mongo.partition import balance_problems, partition_bounds, range_filters
from jobs.mongo.pipelines import PIPELINES

pytestmark = pytest.mark.mongodb


def test_partition_filters_are_disjoint_and_complete():
    def matches(doc: dict, query: dict) -> bool:
        for key, cond in query.items():
            if key == "$or":
                if not any(matches(doc, q) for q in cond):
                    return False
            elif key == "$nor":
                if any(matches(doc, q) for q in cond):
                    return False
            else:
                value = doc.get(key)
                is_number = isinstance(value, int | float) and not isinstance(value, bool)
                for op, arg in cond.items():
                    if op == "$type":
                        ok = arg == "number" and is_number
                    elif op == "$lt":
                        ok = is_number and value < arg
                    else:
                        assert op == "$gte", op
                        ok = is_number and value >= arg
                    if not ok:
                        return False
        return True

    years = [1900, 1950, 1950, 1990, 1999, 2000, 2005, 2010, 2016, 2016, 1987.5]
    docs = [{"year": y} for y in years] + [{"year": "2012è"}, {}, {"year": None}]
    histogram = Counter(y for y in years)
    for parts in (1, 2, 3, 4, 20):
        filters = range_filters("year", partition_bounds(histogram, parts))
        assert 1 <= len(filters) <= parts
        for doc in docs:
            assert sum(matches(doc, f) for f in filters) == 1, (parts, doc)


MOVIES_SCAN = next(p for p in PIPELINES if p.name == partition.PARTITIONED_PIPELINE)
SKEWED = {
    "recent years": Counter({y: 10 + 3 * (y - 1900) for y in range(1900, 2017)}),
    "one big year": Counter({1990: 500, **{y: 5 for y in range(1950, 2016) if y != 1990}}),
    "few keys": Counter({1: 7, 2: 1, 3: 1, 4: 9}),
    "uniform": Counter({y: 4 for y in range(1900, 2000)}),
}


@pytest.mark.parametrize("name", SKEWED)
@pytest.mark.parametrize("parts", [2, 3, 4, 8])
def test_partition_bounds_stay_balanced_on_skewed_data(name, parts):
    histogram = SKEWED[name]
    bounds = partition_bounds(histogram, parts)
    assert bounds == sorted(bounds) and len(bounds) <= parts - 1
    assert balance_problems(histogram, bounds, parts) == []
    if name == "uniform":  # nothing stops an even split: every range is used
        assert len(bounds) == parts - 1


def test_planted_skewed_bounds_are_caught():
    histogram = SKEWED["recent years"]  # most movies are recent
    even = partition_bounds(histogram, 3)
    skewed = [1930, 1960]  # even in years, not in movies: the last range holds most
    assert balance_problems(histogram, even, 3) == []
    (problem,) = balance_problems(histogram, skewed, 3)
    assert problem.startswith("range 2 holds")


def test_plan_partitions_refuses_an_unbalanced_plan(monkeypatch):
    """The plan is checked where it is made: a broken partition_bounds is an error,
    not a silently slower partitioned mode."""

    class Db(dict):
        def __missing__(self, name):
            class Collection:
                @staticmethod
                def aggregate(_):
                    return [{"_id": y, "n": n} for y, n in SKEWED["recent years"].items()]

            return Collection()

    monkeypatch.setattr(partition, "partition_bounds", lambda histogram, parts: [1930, 1960])
    with pytest.raises(RuntimeError, match="unbalanced partition plan"):
        partition.plan_partitions(Db(), MOVIES_SCAN, "year", 3)
