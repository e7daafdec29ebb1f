"""When Ray pays off: task overhead, the break-even task duration, and batching.

The tutorial's rules of thumb ("short tasks: the overhead can outweigh the
benefit"), measured. Items that each take 0 to 100 ms, CPU-bound (a busy loop)
or I/O-like (a sleep), run one after another, as one Ray task per item, and
batched into chunks sized from the task round trip this run measured first.
Beside them, Ray's own task round trip and throughput, measured as
``ray microbenchmark`` does, so ray101's overhead can be read against raw Ray.

The package: ``workload`` (``ray101 run overhead``, ``python -m jobs.overhead``),
``work`` (the two kinds of item), ``sweep`` (every kind and duration, three
ways), ``batching`` (chunk sizes), ``microbenchmark`` (Ray's own overhead),
``findings`` (break-even, the goals), ``table`` and ``plot``.
"""
