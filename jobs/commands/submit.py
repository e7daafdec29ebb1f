"""``ray101 submit``: a workload, or a RayJob manifest's entrypoint, through Ray's job API.

The same path a RayJob's submitter pod takes (``ray job submit``): Ray's
``JobSubmissionClient`` against the dashboard, the checkout uploaded as the
job's working dir (``.gitignore`` and ``.rayignore`` apply, as for
``ray job submit --working-dir .``), the logs streamed here. Exit codes: 0
SUCCEEDED, 1 FAILED or STOPPED (with the last log lines), 2 a mistake,
130/143 when interrupted, after the job has been stopped.

    ray101 submit NAME [ARGS…]                        python -m <module> ARGS
    ray101 submit --from-manifest FILE [--name N] [-- EXTRA ARGS…]

With ``--from-manifest`` the RayJob's ``entrypoint``, ``runtimeEnvYAML``,
``metadata`` and entrypoint resources are submitted unchanged, except for
what is asked for here: ``--env KEY=VALUE`` sets a variable of the job's
runtime env (the RayCluster's pods get e.g. ``MONGODB_URI`` from a Secret; a
local cluster does not), EXTRA ARGS are appended to the entrypoint (its
flags parse last-wins, so they override), and the checkout becomes the
working dir when the runtime env names none (the image has ``jobs`` built in).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shlex
import sys
import threading
import time
from collections.abc import Sequence

from ray.exceptions import AuthenticationError
from ray.job_submission import JobStatus, JobSubmissionClient

from jobs import registry
from jobs.client import dashboard, kuberay, localcluster
from jobs.runtime.command import EXIT_FAILED, EXIT_OK, setup_logging
from jobs.runtime.connect import check_reachable
from jobs.runtime.errors import UsageError, first_line

# Log lines repeated on stderr when a job fails, so the reason is on screen.
FAILURE_TAIL_LINES = 15
POLL_S = 0.5
# Seconds to wait for a stopped job to reach STOPPED before saying so anyway.
STOP_WAIT_S = 15.0
TERMINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED}


def for_workload(name: str, args: Sequence[str]) -> kuberay.Submission:
    """``python -m <module> ARGS`` for a batch workload of the registry."""
    workload = registry.get(name)
    if not workload.rayjob:
        raise UsageError(
            f"{name} is a Ray Serve application, not a batch job: "
            "deploy it with 'ray101 serve --from-manifest' (the RayService)"
        )
    return kuberay.Submission(
        entrypoint=shlex.join(["python", "-m", workload.main_module, *args]),
        submission_id=kuberay.new_submission_id(f"ray101-{name}"),
        metadata={"ray101.workload": name},
    )


def make_client(address: str) -> JobSubmissionClient:
    """A client that sends this machine's Ray token; UsageError when it cannot connect."""
    check_reachable(address)
    try:
        return JobSubmissionClient(address, headers=dashboard.auth_headers())
    except AuthenticationError as exc:
        raise UsageError(f"the job API at {address} refused the token: {first_line(exc)}") from None
    except (ConnectionError, RuntimeError) as exc:
        raise UsageError(f"cannot use the job API at {address}: {first_line(exc)}") from None


def submit(client: JobSubmissionClient, sub: kuberay.Submission) -> str:
    try:
        return client.submit_job(
            entrypoint=sub.entrypoint,
            submission_id=sub.submission_id,
            runtime_env=sub.runtime_env,
            metadata=sub.metadata,
            entrypoint_num_cpus=sub.entrypoint_num_cpus,
            entrypoint_num_gpus=sub.entrypoint_num_gpus,
            entrypoint_resources=sub.entrypoint_resources,
        )
    except AuthenticationError as exc:
        raise UsageError(f"the job API refused the token: {first_line(exc)}") from None
    except (ValueError, TypeError, RuntimeError) as exc:  # a runtime env Ray rejects, an id in use
        raise UsageError(f"job {sub.submission_id} not submitted: {first_line(exc)}") from None


def _stream_logs(client: JobSubmissionClient, job_id: str, stop: threading.Event) -> None:
    async def tail() -> None:
        async for chunk in client.tail_job_logs(job_id):
            if stop.is_set():
                return
            sys.stdout.write(chunk)
            sys.stdout.flush()

    # A dropped stream ends the tail only; the status poll decides the outcome.
    with contextlib.suppress(Exception):
        asyncio.run(tail())


def wait(client: JobSubmissionClient, job_id: str, stream: bool = True) -> JobStatus:
    """Follow the job to its end; on Ctrl-C or SIGTERM stop it first, then re-raise."""
    stop = threading.Event()
    tail = threading.Thread(target=_stream_logs, args=(client, job_id, stop), daemon=True)
    if stream:
        tail.start()
    try:
        while (status := client.get_job_status(job_id)) not in TERMINAL:
            time.sleep(POLL_S)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (jobs.runtime.command.Terminated)
        stop.set()
        client.stop_job(job_id)
        deadline = time.monotonic() + STOP_WAIT_S
        status = client.get_job_status(job_id)
        while status not in TERMINAL and time.monotonic() < deadline:
            time.sleep(POLL_S)
            status = client.get_job_status(job_id)
        print(f"stopped job {job_id} ({status.value})", file=sys.stderr, flush=True)
        raise
    if stream:
        tail.join(timeout=10)  # the rest of the log, which the server sends as the job ends
    return status


def report(client: JobSubmissionClient, job_id: str, status: JobStatus) -> int:
    if status == JobStatus.SUCCEEDED:
        print(f"job {job_id} SUCCEEDED", file=sys.stderr)
        return EXIT_OK
    info = client.get_job_info(job_id)
    lines = client.get_job_logs(job_id).rstrip().splitlines()[-FAILURE_TAIL_LINES:]
    print(f"error: job {job_id} {status.value}: {info.message or ''}".rstrip(), file=sys.stderr)
    for line in lines:
        print(f"  | {line}", file=sys.stderr)
    return EXIT_FAILED


def quiet_ray_client() -> None:
    """Hide the job client's own chatter (packaging, uploads, websockets); errors show.

    Ray's modules set their loggers' levels themselves, so each is lowered."""
    for name in list(logging.root.manager.loggerDict):
        if name == "ray" or name.startswith("ray."):
            logging.getLogger(name).setLevel(logging.ERROR)


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key, value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ray101 submit``'s flags, and :func:`run`."""
    parser.description = (__doc__ or "").splitlines()[0]
    parser.set_defaults(func=run)
    parser.add_argument(
        "--address",
        default=None,
        help="the job API, http://HOST:PORT (default: the cluster 'ray101 cluster up' started)",
    )
    parser.add_argument(
        "--from-manifest",
        metavar="FILE",
        default=None,
        help="submit a RayJob: a YAML file, '-' for stdin, or the chart's directory",
    )
    parser.add_argument("--name", default=None, help="which RayJob of the manifest")
    parser.add_argument(
        "--env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set an environment variable of the job (its runtime env's env_vars)",
    )
    parser.add_argument("--no-wait", action="store_true", help="print the job id and return")
    parser.add_argument(
        "workload",
        nargs=argparse.REMAINDER,
        metavar="NAME [ARGS…]",
        help="a batch workload (ray101 list) and its flags; with --from-manifest: -- EXTRA ARGS",
    )


def plan(args: argparse.Namespace) -> kuberay.Submission:
    rest = list(args.workload)
    if args.from_manifest:
        if rest[:1] == ["--"]:
            rest = rest[1:]
        docs = kuberay.load(args.from_manifest)
        obj = kuberay.select(docs, "RayJob", args.name, args.from_manifest)
        return kuberay.from_rayjob(obj, args.from_manifest).with_overrides(dict(args.env), rest)
    if not rest or rest[0].startswith("-"):
        raise UsageError("ray101 submit: name a workload (see 'ray101 list') or --from-manifest")
    return for_workload(rest[0], rest[1:]).with_overrides(dict(args.env), ())


def run(args: argparse.Namespace) -> int:
    """``ray101 submit``: submit, follow the job to its end (unless --no-wait), report."""
    setup_logging()
    quiet_ray_client()
    sub = plan(args)
    address = localcluster.job_api_address(args.address)
    client = make_client(address)
    job_id = submit(client, sub)
    print(f"submitted job {job_id} to {address}: {sub.entrypoint}", file=sys.stderr)
    if args.no_wait:
        print(job_id)
        return EXIT_OK
    try:
        return report(client, job_id, wait(client, job_id))
    except (ConnectionError, RuntimeError) as exc:  # the job API went away mid-run
        print(f"error: lost the job API at {address} following {job_id}: {first_line(exc)}",
              file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
