"""The ``ray101`` command: ``list``, ``run``, and the commands in :data:`COMMANDS`."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

from jobs import registry, runner
from jobs.command import EXIT_OK, EXIT_USAGE, run_command
from jobs.errors import UsageError

# Commands besides `run`/`list`, each the `main(argv)` of the module that owns it.
COMMANDS: dict[str, str] = {
    "cluster": "jobs.cluster_command:main",
    "submit": "jobs.submit:main",
    "data load": "jobs.mongo.data_load:main",
    "serve": "jobs.echo.foreground:main",
    "loadtest": "jobs.loadtest.command:main",
    "wait data": "jobs.wait:data_main",
    "wait bucket": "jobs.wait:bucket_main",
    "bucket create": "jobs.wait:create_bucket_main",
}


# What `ray101 --help` prints (plain text: it is read in a terminal).
USAGE = """\
ray101 list                      the workloads
ray101 run NAME [flags]          one workload (ray101 run NAME --help)
ray101 run all [--only NAME…]    every workload on one embedded Ray, one table
ray101 cluster up|down|status    a multi-node Ray on this machine, shaped like the kind RayCluster
ray101 submit NAME [ARGS…]       one workload through Ray's job API (default: that cluster)
ray101 submit --from-manifest F  a RayJob's entrypoint and runtime env, unchanged
ray101 data load [flags]         sample_mflix-shaped data into MongoDB
ray101 serve [--host] [--port]   the echo service in the foreground
ray101 serve --from-manifest F   a RayService's Serve config on the cluster, then called over HTTP
ray101 loadtest [flags]          bounded load against the echo service
ray101 wait data|bucket [flags]  wait until MongoDB has the data / the bucket exists
ray101 bucket create [flags]     create Tune's bucket if it is missing, and with
                                 --bucket-user the S3 identity limited to it"""


def _resolve(target: str) -> Callable[[Sequence[str]], int]:
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


def _list() -> int:
    width = max(len(n) for n in registry.WORKLOADS)
    for w in registry.WORKLOADS.values():
        print(f"{w.name.ljust(width)}  {w.summary}")
    return EXIT_OK


def _run(argv: Sequence[str]) -> int:
    if not argv or argv[0].startswith("-"):
        raise UsageError("ray101 run: name a workload (see 'ray101 list') or 'all'")
    name, rest = argv[0], list(argv[1:])
    if name == "all":
        return runner.run_all(rest)
    return runner.main_for(registry.get(name).load(), rest)


def dispatch(argv: Sequence[str]) -> int:
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return EXIT_OK if argv else EXIT_USAGE
    if argv[0] == "list":
        return _list()
    if argv[0] == "run":
        return _run(argv[1:])
    for words, target in COMMANDS.items():
        n = len(words.split())
        if argv[:n] == words.split():
            return _resolve(target)(argv[n:])
    raise UsageError(f"unknown command {' '.join(argv[:1])!r}; see 'ray101 --help'")


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(lambda: dispatch(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())
