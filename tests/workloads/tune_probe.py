"""A Tune run on a multi-node cluster, in a process of its own, and the tiny Tune
settings the tests share. ``python -m tests.workloads.tune_probe ADDRESS STORAGE``
joins the cluster at ADDRESS and prints two JSON lines: the nodes two trial
reservations landed on, then the job's result.

It runs apart from the test module, which holds an embedded Ray of its own."""

from __future__ import annotations

import json
import sys

import ray

from jobs.runtime.connect import enable_token_auth_for
from jobs.tune import search
from jobs.tune import workload as tune_job

SEED = 7
# Four trials of at most three epochs on 400 rows, ASHA halving after each epoch.
TINY = ["--num-samples", "4", "--max-epochs", "3", "--samples", "400", "--seed", str(SEED)]
TINY += ["--grace-period", "1", "--reduction-factor", "2"]


def multi_node_probe(address: str, storage: str) -> None:
    """Run in a fresh process (the test module holds an embedded Ray of its own):
    join the cluster at ``address``, make two trial reservations as Tune makes
    them, then run the job --json on that cluster."""
    enable_token_auth_for(address)
    ray.init(address=address, log_to_driver=False, logging_level="WARNING")
    try:
        groups = [search.trial_resources(1, 0).to_placement_group() for _ in range(2)]
        ray.get([g.ready() for g in groups], timeout=60)
        nodes = {ray.util.placement_group_table(g)["bundles_to_node_id"][0] for g in groups}
        for g in groups:
            ray.util.remove_placement_group(g)
        print(json.dumps({"reservation_nodes": len(nodes)}), flush=True)
        # The job reuses this connection, as `ray101 run all` does.
        argv = ["--json", *TINY, "--max-concurrent-trials", "1", "--storage-path", storage]
        code = tune_job.main(argv)
    finally:
        ray.shutdown()
    raise SystemExit(code)


if __name__ == "__main__":
    multi_node_probe(*sys.argv[1:3])
