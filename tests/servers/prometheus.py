"""Debian's prometheus on a free loopback port, scraping a Ray cluster with the
config Ray writes at head start, through the service-discovery file Ray keeps
in the session folder."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from jobs.runtime import ray_internals
from jobs.runtime.ports import free_port
from tests.servers import process

START_TIMEOUT_S = 30.0
# Short, so a test sees new samples within seconds (Prometheus' default is 1 min).
SCRAPE_INTERVAL_S = 1


@dataclass(frozen=True)
class Prometheus:
    url: str
    pid: int

    def query(self, promql: str) -> list[dict]:
        """The instant vector ``promql`` evaluates to now (HTTP API /api/v1/query)."""
        reply = requests.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5)
        reply.raise_for_status()
        body = reply.json()
        if body["status"] != "success" or body["data"]["resultType"] != "vector":
            raise RuntimeError(f"{promql}: {body}")
        return body["data"]["result"]

    def targets(self) -> list[dict]:
        reply = requests.get(f"{self.url}/api/v1/targets", timeout=5)
        reply.raise_for_status()
        return reply.json()["data"]["activeTargets"]


def ray_config(session_dir: Path) -> dict:
    """The scrape config Ray writes at head start, scraping every ``SCRAPE_INTERVAL_S``.

    Ray's own file (``<session>/metrics/prometheus/prometheus.yml``) points
    Prometheus at the discovery file; only its 10 s interval is shortened.
    """
    config = yaml.safe_load((session_dir / "metrics" / "prometheus" / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = f"{SCRAPE_INTERVAL_S}s"
    config["global"]["evaluation_interval"] = f"{SCRAPE_INTERVAL_S}s"
    return config


def discovery_file(session_dir: Path) -> Path:
    return session_dir / ray_internals.prometheus_discovery_file_name()


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=1).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def prometheus_server(session_dir: Path) -> Iterator[Prometheus]:
    """Start prometheus with a temporary data dir for the Ray session in ``session_dir``."""
    binary = process.require("prometheus", "prometheus")
    workdir = Path(tempfile.mkdtemp(prefix="ray101-prometheus-"))
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(ray_config(session_dir)))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "prometheus.log"
    command = [
        binary,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1h",
    ]
    proc = process.start(command, log_path, cwd=workdir)
    try:
        process.wait_ready(proc, lambda: _ready(url), "prometheus", log_path, START_TIMEOUT_S)
        yield Prometheus(url, proc.pid)
    finally:
        process.stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def wait_for(prometheus: Prometheus, promql: str, accept, timeout_s: float = 60.0) -> list[dict]:
    """Query until ``accept(result)`` holds; the accepted result."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = prometheus.query(promql)
        if accept(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{promql} after {timeout_s:.0f} s: {result}")
        time.sleep(0.5)
