"""Bounded HTTP load against the echo service on this machine: req/s, latency, errors.

    ray101 loadtest [--url URL] [--duration S | --requests N] [--connections C]
                    [--baseline] [--rounds R] [--client auto|wrk|python]
                    [--check] [--out DIR] [--json]

Without ``--url`` it starts the echo service itself (``ray101 serve`` in a
child process) and stops it afterwards. With ``--baseline`` it also starts a
bare Starlette echo on uvicorn and measures it in the same run, so the ratio
compares two servers under the same machine load. Only loopback URLs are
accepted: this is a benchmark for your own machine, not a load generator.

The client is wrk when it is on PATH (it costs the least CPU, which matters
when client and server share the cores), else an asyncio client on aiohttp.
Non-2xx replies and socket errors count as errors; the Python client also
checks every reply body.

The package: ``command`` (the flags and the run), ``urls``, the clients
(``wrk``, ``python_client``, both giving a ``measurement.Measurement``),
``servers`` (the echo and the baseline it starts), ``goals`` and ``report``.
"""
