"""The four Ray Core workloads on a real local Ray: results, order and speed."""

from __future__ import annotations

import pytest
import ray

from jobs import counter, dag, dependencies, registry, retrieve
from jobs.runtime import runner

pytestmark = pytest.mark.usefixtures("ray_session")


def run(module, *argv: str):
    return runner.invoke(module, argv)


def test_retrieve_returns_data_in_order_and_parallel_is_faster():
    result = run(retrieve, "--items", "6", "--delay", "0.5")
    assert result.ok, result.error
    assert result.result == [[i, ("Learning", "Ray")[i % 2]] for i in range(6)]
    t = result.timings
    assert t["sequential_s"] >= 6 * 0.5
    assert t["parallel_s"] < 0.5 * t["sequential_s"]
    assert t["speedup"] == pytest.approx(t["sequential_s"] / t["parallel_s"])
    assert {"first_parallel_s", "parallel_s"} <= t.keys()
    assert result.lines[0].startswith("Sequential runtime:")


def test_retrieve_order_holds_when_later_items_finish_first():
    # Items submitted first sleep longest: ray.get must still return submission order.
    database = retrieve.make_database(8)
    refs = [retrieve.retrieve_task.remote(i, database, 0.05 * (8 - i)) for i in range(8)]
    assert [tuple(x) for x in ray.get(refs)] == [(i, database[i]) for i in range(8)]


def test_dependencies_aggregate_after_parallel_process():
    result = run(dependencies, "--items", "5", "--delay", "0.6")
    assert result.ok, result.error
    assert result.result == 20
    assert result.timings["parallel_s"] < 0.5 * result.timings["sequential_s"]


@pytest.mark.parametrize("items", [1, 7])
def test_dependencies_sum_matches_plain_python(items):
    assert dependencies.run_parallel(items, 0.01) == sum(2 * i for i in range(items))


def test_refs_nested_in_a_list_are_not_resolved():
    """Why the tutorial's ``aggregate.remote(refs)`` fails: Ray resolves only
    top-level ObjectRef arguments, so ``sum`` receives ObjectRefs."""

    @ray.remote
    def total(results):
        return sum(results)

    refs = [dependencies.process.remote(i, 0.01) for i in range(5)]
    with pytest.raises(TypeError):
        ray.get(total.remote([refs]))
    with pytest.raises(TypeError):
        ray.get(total.remote(refs))
    assert ray.get(total.remote(ray.get(refs))) == 20
    assert ray.get(dependencies.aggregate.remote(*refs)) == 20


def test_dag_chaining_and_dag_api_agree_and_deprecation_is_reported():
    result = run(dag)
    assert result.ok, result.error
    assert result.result == "Task3 received: Result from task1 and Result from task2"
    assert result.details["dag_api_result"] == result.result
    assert any("execute" in notice for notice in result.details["deprecations"])


@pytest.mark.parametrize(("values", "expected"), [(5, [0, 1, 3, 6, 10]), (1, [0])])
def test_counter_running_totals_in_submission_order(values, expected):
    result = run(counter, "--values", str(values))
    assert result.ok
    assert result.result == expected


def test_counter_actor_keeps_state_between_calls():
    actor = counter.Counter.remote()
    try:
        assert ray.get(actor.increment.remote(5)) == 5
        assert ray.get(actor.increment.remote(2)) == 7
    finally:
        ray.kill(actor)


def test_registry_modules_follow_the_workload_contract():
    for name, workload in registry.WORKLOADS.items():
        module = workload.load()
        assert name == module.NAME
        assert callable(module.run) and callable(module.main)
        # Every demo flag must parse, or `make demo` would fail before it starts.
        runner.build_parser(module).parse_args(list(workload.demo_args))
