"""The servers ``ray101 loadtest`` starts: the echo service and the bare-ASGI baseline,
each in a child process on a free loopback port, stopped when the body ends."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jobs.commands.loadtest.urls import with_data
from jobs.echo.parsing import reply_text
from jobs.runtime.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[3]
# Seconds to wait for a server to answer, and to stop.
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0


def serve_baseline(port: int, host: str = "127.0.0.1") -> None:
    """The bare-ASGI reference: the same echo on Starlette and uvicorn, nothing else."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def echo(request: Request) -> PlainTextResponse:
        data = request.query_params.get("data")
        if data is None:
            return PlainTextResponse("missing data", status_code=400)
        return PlainTextResponse(reply_text(data))

    app = Starlette(routes=[Route("/", echo, methods=["GET"])])
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen
    log_path: Path


def _lines(stream, sink: queue.Queue) -> None:
    for line in stream:
        sink.put(line)


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        # SIGTERM, not SIGINT: a child inherits an ignored SIGINT across exec (a
        # shell's background job, nohup'd CI), and Python then never raises
        # KeyboardInterrupt; `ray101 serve` stops Serve as cleanly on SIGTERM.
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    server.log_path.unlink(missing_ok=True)


def _failed_start(server: Server, why: str) -> RuntimeError:
    tail = server.log_path.read_text(errors="replace")[-2000:] if server.log_path.exists() else ""
    return RuntimeError(f"{server.name} did not start: {why}\n{tail}")


@contextlib.contextmanager
def started_server(
    name: str,
    argv: list[str],
    url: str,
    ready_line: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Run ``argv`` until the body ends; wait for ``ready_line``, else a 200 from ``url``."""
    # The server's stderr goes to a file, shown only when it fails to start.
    with tempfile.NamedTemporaryFile(
        "w", prefix=f"ray101-{name}-", suffix=".log", delete=False
    ) as log_file:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            cwd=REPO_ROOT,
            env={**os.environ, **(env or {})},
        )
    server = Server(name, url, process, Path(log_file.name))
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise _failed_start(server, f"exit code {process.returncode}")
            if time.monotonic() > deadline:
                raise _failed_start(server, f"no answer within {START_TIMEOUT_S:.0f} s")
            if ready_line is None:
                if _answers(with_data(url, "ready")):
                    break
                time.sleep(0.1)
                continue
            try:
                if ready_line in lines.get(timeout=0.5):
                    break
            except queue.Empty:
                pass
        yield server
    finally:
        _stop(server)


def echo_server(env: dict[str, str] | None = None) -> contextlib.AbstractContextManager[Server]:
    """``ray101 serve`` on a free loopback port, in a child process with ``env`` added."""
    port = free_port()
    argv = [sys.executable, "-m", "jobs.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return started_server("echo", argv, f"http://127.0.0.1:{port}/", "Echo service ready", env)


def baseline_server() -> contextlib.AbstractContextManager[Server]:
    """The bare Starlette echo on a free loopback port, in a child process."""
    port = free_port()
    argv = [
        sys.executable,
        "-c",
        f"from jobs.commands.loadtest.servers import serve_baseline; serve_baseline({port})",
    ]
    return started_server("baseline", argv, f"http://127.0.0.1:{port}/")
