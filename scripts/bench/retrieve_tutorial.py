"""The tutorial's parallel retrieval, as the tutorial runs it: ``ray.init()``, then
six one-second ``retrieve`` tasks at once on the fresh Ray. Its round is the
reference for ray101's cold first round (``ray101 run retrieve --cold``).

Prints one JSON object: the round's seconds and the data, in order.

Run: .venv/bin/python scripts/bench/retrieve_tutorial.py [--num-cpus 2]
"""

from __future__ import annotations

import argparse
import json
import time

import ray


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-cpus", type=int, default=None, help="the local Ray's CPUs")
    args = parser.parse_args()
    ray.init(num_cpus=args.num_cpus)  # the tutorial's call; its dashboard starts too

    database = ["Learning", "Ray"] * 3

    @ray.remote
    def retrieve(item):
        time.sleep(1)
        return item, database[item]

    start_time = time.time()
    object_references = [retrieve.remote(item) for item in range(len(database))]
    input_data = ray.get(object_references)
    runtime = time.time() - start_time
    print(json.dumps({"runtime_s": runtime, "data": [list(d) for d in input_data]}))
    ray.shutdown()


if __name__ == "__main__":
    main()
