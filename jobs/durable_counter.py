"""The Counter with its state in MongoDB, so a restarted actor carries on where it was.

Each increment is one document, written before the call answers::

    {_id: <the call's idempotency key>, counter: <id>, seq: 1, 2, …, value, total}

``__init__`` restores the count from the counter's last document, so a
restart (``max_restarts``) loses nothing that was acknowledged. Ray retries a
call whose actor died (``max_task_retries``) with the same arguments, so the
same key: when the document is already there the call was applied before the
crash and its recorded total is returned instead of adding it twice.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import ray
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from jobs.mongo import client as mongo_client

DATABASE = "ray101"
COLLECTION = "counter_increments"
# Restarts and retries enough for a node or two going away, not an endless loop.
MAX_RESTARTS = 5
MAX_TASK_RETRIES = 10


def new_counter_id() -> str:
    return f"counter-{uuid.uuid4().hex[:12]}"


def collection(uri: str) -> Any:
    """The increments collection, with the indexes that make a double write impossible."""
    coll = mongo_client.connect(uri)[DATABASE][COLLECTION]
    # Two documents with one sequence number would be two writers, or a lost restore.
    coll.create_index([("counter", ASCENDING), ("seq", ASCENDING)], unique=True)
    return coll


# The actor only waits on MongoDB; it needs no CPU of its own.
@ray.remote(num_cpus=0, max_restarts=MAX_RESTARTS, max_task_retries=MAX_TASK_RETRIES)
class DurableCounter:
    def __init__(self, counter_id: str, uri: str, ack_delay_s: float = 0.0) -> None:
        self.counter_id = counter_id
        self.ack_delay_s = ack_delay_s
        self.increments = collection(uri)
        last = self.increments.find_one({"counter": counter_id}, sort=[("seq", DESCENDING)])
        self.seq = last["seq"] if last else 0
        self.count = last["total"] if last else 0

    def increment(self, value: int, key: str) -> int:
        """Add ``value`` once per ``key``; the running total after it."""
        record = {
            "_id": key,
            "counter": self.counter_id,
            "seq": self.seq + 1,
            "value": value,
            "total": self.count + value,
        }
        try:
            self.increments.insert_one(record)
        except DuplicateKeyError:
            done = self.increments.find_one({"_id": key})
            if done is None:  # the (counter, seq) index: another writer got there first
                raise
            return done["total"]  # a retried call, applied before the actor died
        self.seq, self.count = record["seq"], record["total"]
        # What happens after the write and before the answer (a slow network,
        # a crash) is what the key protects against.
        if self.ack_delay_s:
            time.sleep(self.ack_delay_s)
        return self.count

    def value(self) -> int:
        return self.count

    def pid(self) -> int:
        return os.getpid()


def start(counter_id: str, uri: str, ack_delay_s: float = 0.0) -> Any:
    return DurableCounter.remote(counter_id, uri, ack_delay_s)


def increment_all(counter: Any, values: list[int]) -> list[ray.ObjectRef]:
    """One call per value, each with its own idempotency key, in order."""
    return [counter.increment.remote(v, uuid.uuid4().hex) for v in values]


def recorded(uri: str, counter_id: str) -> list[dict[str, Any]]:
    """The counter's documents in sequence order (what a restart restores from)."""
    with mongo_client.connect(uri) as client:
        coll = client[DATABASE][COLLECTION]
        return list(coll.find({"counter": counter_id}, sort=[("seq", ASCENDING)]))
