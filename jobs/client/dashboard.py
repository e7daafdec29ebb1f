"""The Ray dashboard's HTTP API (jobs, state, Serve), with the cluster's token.

Ray 2.60 clusters check a bearer token on every dashboard request when token
auth is on. The token is read the way Ray's own clients read it:
``$RAY_AUTH_TOKEN``, else the file ``$RAY_AUTH_TOKEN_PATH``, else
``~/.ray/auth_token``; it is sent as ``Authorization: Bearer …`` and never
printed.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jobs.runtime.errors import UsageError

# Seconds an HTTP request to the dashboard may take before it counts as unreachable.
REQUEST_TIMEOUT_S = 10.0


def token_path() -> Path:
    return Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")


def auth_token() -> str | None:
    """This machine's Ray token, or None when there is none."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return os.environ["RAY_AUTH_TOKEN"].strip()
    try:
        return token_path().read_text().strip() or None
    except OSError:
        return None


def auth_headers(token: str | None = None) -> dict[str, str]:
    """The header Ray's dashboard checks, when a token is known."""
    token = token or auth_token()
    return {"Authorization": f"Bearer {token}"} if token else {}


def job_api_url(address: str) -> str:
    """``http://host:port`` from ``host:port`` or a URL; UsageError for anything else."""
    url = address if "://" in address else f"http://{address}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--address {address!r} is not the job API's http://HOST:PORT")
    try:
        _ = parts.port  # urlsplit checks the port only when asked
    except ValueError as exc:
        raise UsageError(f"--address {address!r} has an invalid port") from exc
    return url.rstrip("/")


class DashboardError(RuntimeError):
    """The dashboard answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def request(
    base_url: str,
    path: str,
    *,
    method: str = "GET",
    body: Any = None,
    token: str | None = None,
    timeout_s: float = REQUEST_TIMEOUT_S,
) -> Any:
    """One JSON request to the dashboard; the decoded answer (None when empty).

    Unreachable: UsageError. Refused token (401/403) or another error status:
    DashboardError with the status.
    """
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **auth_headers(token)}
    req = urllib.request.Request(f"{base_url}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as answer:
            text = answer.read().decode()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace").strip().splitlines()
        raise DashboardError(exc.code, detail[0] if detail else exc.reason) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UsageError(f"cannot reach the Ray dashboard at {base_url}: {reason}") from None
    return json.loads(text) if text.strip() else None


def nodes(base_url: str, token: str | None = None) -> list[dict[str, Any]]:
    """Every node the cluster knows (alive and dead), from the state API."""
    answer = request(base_url, "/api/v0/nodes?limit=1000&detail=true", token=token)
    return answer["data"]["result"]["result"]
