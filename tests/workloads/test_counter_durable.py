"""The durable Counter: its state in MongoDB (the nx-27017 stand-in here) survives
the actor's process being killed between and during increments, with every
increment applied exactly once."""

from __future__ import annotations

import os
import signal
import time

import pytest
import ray

from jobs import counter, durable_counter
from jobs.mongo import standin as mongo_standin
from jobs.runtime import runner


@pytest.fixture(scope="module")
def mongo_uri():
    with mongo_standin.standin(announce=False) as uri:
        yield uri


def kill_actor_process(actor) -> int:
    pid = ray.get(actor.pid.remote())
    os.kill(pid, signal.SIGKILL)
    return pid


def assert_applied_once(uri: str, counter_id: str, values: list[int], answers: list[int]) -> None:
    """Every value recorded exactly once, each record's total its predecessor's plus its
    value, and each call answered with its own record's total. Ray may run the
    calls it retries after a restart in another order, so the order is not checked."""
    docs = durable_counter.recorded(uri, counter_id)
    assert [d["seq"] for d in docs] == list(range(1, len(values) + 1))
    assert sorted(d["value"] for d in docs) == sorted(values)
    totals = [d["total"] for d in docs]
    assert totals == [sum(d["value"] for d in docs[: i + 1]) for i in range(len(docs))]
    assert sorted(answers) == sorted(totals[-len(answers) :])
    assert totals[-1] == sum(values)


def test_durable_counter_gives_the_tutorials_totals(ray_session, mongo_uri):
    result = runner.invoke(counter, ["--durable", "--uri", mongo_uri])
    assert result.ok, result.error
    assert result.result == [0, 1, 3, 6, 10]
    assert result.details["recorded_increments"] == 5


def test_a_named_counter_continues_its_stored_count(ray_session, mongo_uri):
    first = runner.invoke(counter, ["--durable", "--uri", mongo_uri, "--counter-id", "c-resume"])
    again = runner.invoke(counter, ["--durable", "--uri", mongo_uri, "--counter-id", "c-resume"])
    assert first.result == [0, 1, 3, 6, 10]
    assert again.result == [10, 11, 13, 16, 20]


def test_killed_between_increments_restores_the_count(ray_session, mongo_uri):
    counter_id = durable_counter.new_counter_id()
    actor = durable_counter.start(counter_id, mongo_uri)
    try:
        assert ray.get(durable_counter.increment_all(actor, [1, 2, 3])) == [1, 3, 6]
        old_pid = kill_actor_process(actor)
        after = ray.get(durable_counter.increment_all(actor, [4, 5]), timeout=120)
        assert ray.get(actor.value.remote()) == 15
        assert ray.get(actor.pid.remote()) != old_pid  # it really was restarted
    finally:
        ray.kill(actor)
    assert_applied_once(mongo_uri, counter_id, [1, 2, 3, 4, 5], after)


def test_killed_after_recording_before_answering_applies_the_retry_once(ray_session, mongo_uri):
    counter_id = durable_counter.new_counter_id()
    # Each increment waits 1 s after its write: the crash lands between the
    # write and the answer, so Ray retries a call that was already applied.
    actor = durable_counter.start(counter_id, mongo_uri, ack_delay_s=1.0)
    try:
        pid = ray.get(actor.pid.remote())
        values = [1, 2, 3, 4]
        refs = durable_counter.increment_all(actor, values)
        deadline = time.monotonic() + 30
        while not durable_counter.recorded(mongo_uri, counter_id):
            assert time.monotonic() < deadline, "the first increment was never recorded"
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        answers = ray.get(refs, timeout=120)
        assert ray.get(actor.value.remote()) == 10
    finally:
        ray.kill(actor)
    assert_applied_once(mongo_uri, counter_id, values, answers)
    # The call in flight at the crash was recorded before it; its retry found the record.
    assert durable_counter.recorded(mongo_uri, counter_id)[0]["value"] == 1


def test_durable_without_mongodb_is_a_usage_error(cli):
    env = {"MONGODB_URI": ""}
    result = cli("run", "counter", "--durable", env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "--durable needs MongoDB" in result.stderr
