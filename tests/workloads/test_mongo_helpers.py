"""The `mongo` workload's pure helpers: checksums whose parts add up (and where
order matters), which pipelines are ordered, and the reference's tolerance of
summation order only."""

from __future__ import annotations

import bson
import pytest

from jobs.mongo.checksum import Checksum, Outcome, merge
from jobs.mongo.pipelines import PIPELINES, Pipeline
from tests.workloads.mongo_support import same_values

pytestmark = pytest.mark.mongodb


def digest_of(raw_docs: list[bytes], ordered: bool) -> str:
    checksum = Checksum(ordered)
    for raw in raw_docs:
        checksum.add(raw)
    return checksum.hexdigest()


def test_checksums_of_parts_add_up_and_order_matters():
    docs = [bson.encode({"i": i}) for i in range(10)]
    whole = digest_of(docs, ordered=False)
    parts = [
        Outcome(5, digest_of(docs[:5], False), None),
        Outcome(5, digest_of(docs[5:], False), None),
    ]
    assert merge(parts).digest == whole == digest_of(docs[::-1], ordered=False)
    assert digest_of(docs, ordered=True) != digest_of(docs[::-1], ordered=True)
    with pytest.raises(ValueError):
        merge([Outcome(1, digest_of(docs, True), None)])


def test_order_detection():
    by_name = {p.name: p for p in PIPELINES}
    assert not by_name["movies"].ordered and not by_name["comments"].ordered
    assert by_name["top_genres"].ordered and by_name["most_commented"].ordered
    assert not Pipeline("p", "c", [{"$sort": {"a": 1}}, {"$group": {"_id": "$a"}}]).ordered


def test_same_values_tolerates_summation_order_only():
    assert same_values([{"a": 0.1 + 0.2, "b": 3}], [{"a": 0.3, "b": 3.0}])
    assert not same_values([{"a": 0.3}], [{"a": 0.31}])
    assert not same_values([1, 2], [2, 1])
    assert not same_values({"a": 1}, {"a": 1, "b": 2})
