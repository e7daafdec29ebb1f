"""The Aggregator (one MongoClient per process, as in the tutorial), the
sequential mode that runs it in the driver, and the Ray actors that run it
in parallel: one new actor per pipeline, or a warm pool.

Every mode runs the same code per pipeline (:func:`run_task`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import bson
import ray
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.errors import AutoReconnect, ConnectionFailure
from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError

from jobs.mongo.checksum import Checksum, Outcome
from jobs.mongo.client import make_client
from jobs.mongo.pipelines import Task
from jobs.runtime.connect import IO_TASK_CPUS

log = logging.getLogger(__name__)

DEFAULT_POOL_SIZE = 4
DEFAULT_BATCH_SIZE = 5_000
DEFAULT_MAX_TIME_MS = 60_000
# A crashed actor comes back this many times before Ray gives up on it.
ACTOR_RESTARTS = 2
# How long the pool waits for a failed actor to answer again (Ray restarting
# it, a new process connecting to MongoDB) before it goes on without it.
READY_TIMEOUT_S = 60.0
_READY_POLL_S = 0.2
_RAW = CodecOptions(document_class=RawBSONDocument)


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
        self.client = make_client(uri)
        self.db = self.client[database]
        self.batch_size = batch_size
        self.max_time_ms = max_time_ms

    def ready(self) -> dict[str, Any]:
        """Connect now, so a warm actor has paid for its connection too."""
        self.client.admin.command("ping")
        return {"pid": os.getpid(), "host": socket.gethostname()}

    def run(self, task: Task) -> Outcome:
        # An aggregation only reads, so a connection lost mid-stream is run once
        # more from the start. pymongo retries the first command itself, never
        # a getMore: a failover, or the driver clearing its pool after a missed
        # heartbeat on a loaded node (which cancels the open cursor), ends the
        # stream with AutoReconnect.
        try:
            return run_task(self.db, task, self.batch_size, self.max_time_ms)
        except AutoReconnect as exc:
            log.warning("%s: connection lost (%s); running it again", task.label, exc)
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
# dropped again after Aggregator.run's own retry. A refused pipeline
# (OperationFailure) fails the same way again.
RETRYABLE = (RayActorError, ActorUnavailableError, ConnectionFailure)


@dataclass
class Settings:
    uri: str
    database: str
    batch_size: int = DEFAULT_BATCH_SIZE
    max_time_ms: int = DEFAULT_MAX_TIME_MS

    def aggregator(self) -> Aggregator:
        return Aggregator(self.uri, self.database, self.batch_size, self.max_time_ms)

    def actor(self):
        return AggregatorActor.remote(self.uri, self.database, self.batch_size, self.max_time_ms)


def run_sequential(settings: Settings, tasks: Sequence[Task]) -> list[Outcome]:
    """The tutorial's baseline: one client in the driver, one pipeline after another."""
    aggregator = settings.aggregator()
    try:
        return [aggregator.run(t) for t in tasks]
    finally:
        aggregator.close()


def wait_until_ready(actor: Any, timeout_s: float = READY_TIMEOUT_S) -> bool:
    """True once ``actor`` answers again; False when it is gone for good or
    does not answer within ``timeout_s``.

    With ``max_task_retries=0`` a call made while Ray restarts the actor
    fails at once (``ActorUnavailableError``) rather than waiting, so ask
    again until the deadline.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            ray.get(actor.ready.remote(), timeout=remaining)
            return True
        except GetTimeoutError:
            return False
        except (ActorUnavailableError, ConnectionFailure):
            time.sleep(min(_READY_POLL_S, max(0.0, deadline - time.monotonic())))
        except RayActorError:  # dead, and out of restarts
            return False


class AggregatorPool:
    """Warm Aggregator actors; pipelines go to whichever actor is free.

    A call whose actor died, or whose connection dropped, is retried once:
    after that actor answers again (Ray restarts it) or on another one.
    """

    def __init__(self, settings: Settings, size: int) -> None:
        self.settings = settings
        self.actors = [settings.actor() for _ in range(size)]
        # Actors that did not come back after a failure; they get no more work.
        self.lost: set[int] = set()
        self.retries = 0
        self.info: list[dict[str, Any]] = []

    def wait_ready(self) -> list[dict[str, Any]]:
        self.info = ray.get([a.ready.remote() for a in self.actors])
        return self.info

    def run(self, tasks: Sequence[Task]) -> list[Outcome]:
        """Every task, in the order given: a work queue, one call in flight per actor."""
        tasks = list(tasks)
        queue: deque[int] = deque(range(len(tasks)))
        idle = deque(i for i in range(len(self.actors)) if i not in self.lost)
        inflight: dict[Any, tuple[int, int]] = {}  # ref -> (task, actor)
        results: dict[int, Outcome] = {}
        tried: set[int] = set()

        def fill() -> None:
            while queue and idle:
                index, actor = queue.popleft(), idle.popleft()
                inflight[self.actors[actor].run.remote(tasks[index])] = (index, actor)

        fill()
        while inflight:
            [ref], _ = ray.wait(list(inflight), num_returns=1)
            index, actor = inflight.pop(ref)
            try:
                results[index] = ray.get(ref)
            except RETRYABLE as exc:
                if index in tried:
                    raise
                tried.add(index)
                self.retries += 1
                log.warning(
                    "%s failed on actor %d (%s); retrying once",
                    tasks[index].label,
                    actor,
                    type(exc).__name__,
                )
                queue.appendleft(index)
                if not wait_until_ready(self.actors[actor]):
                    log.warning("actor %d did not come back; going on without it", actor)
                    self.lost.add(actor)
                    if not idle and not inflight:
                        raise RuntimeError("no Aggregator actor is left to run on") from exc
                    fill()
                    continue
            idle.append(actor)
            fill()
        return [results[i] for i in range(len(tasks))]

    def close(self) -> None:
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []


def run_actors(settings: Settings, tasks: Sequence[Task]) -> tuple[list[Outcome], int]:
    """The tutorial's design: a new actor per pipeline, its start-up in the time."""
    actors = AggregatorPool(settings, len(tasks))
    try:
        return actors.run(tasks), actors.retries
    finally:
        actors.close()
