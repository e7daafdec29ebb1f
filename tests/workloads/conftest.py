"""Fixtures the workload tests share: the generated sample data loaded once into
the session's MongoDB (dropped afterwards), whether that is the stand-in, and
the `mongo` workload's settings for it. Package scope: the test_mongo_*.py
modules share one load, as the single module they were split from did."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymongo import MongoClient

from jobs.mongo.data import Dataset, generate
from jobs.mongo.load import load
from jobs.mongo.pool import Settings
from tests.workloads.mongo_support import COMMENTS, DB, MOVIES


@pytest.fixture(scope="package")
def mflix(mongo_server) -> Iterator[tuple[str, Dataset]]:
    dataset = generate(MOVIES, COMMENTS)
    with MongoClient(mongo_server.uri) as client:
        client.drop_database(DB)
        load(client[DB], dataset, progress=False)
        yield mongo_server.uri, dataset
        client.drop_database(DB)


@pytest.fixture(scope="package")
def standin(mongo_server) -> bool:
    """Against the stand-in, the comparison tolerates its known defects (tests/README.md)."""
    return mongo_server.standin


@pytest.fixture(scope="package")
def settings(mflix) -> Settings:
    return Settings(mflix[0], DB, batch_size=500, max_time_ms=30_000)
