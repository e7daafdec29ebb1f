"""The URLs a load test may call: plain HTTP to this machine, with the data to echo."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote, urlsplit

from jobs.runtime.errors import UsageError


def loopback_url(url: str) -> str:
    """``url`` if it is plain HTTP to this machine; a UsageError otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise UsageError(f"--url {url!r}: only http:// URLs are supported")
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(
            f"--url {url!r}: load goes to loopback addresses only (127.0.0.1, ::1, localhost)"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise UsageError(f"--url {url!r} has an invalid port") from None
    return url


def with_data(url: str, data: str) -> str:
    """The request URL: ``url`` with ``?data=...`` unless it has a query already."""
    parts = urlsplit(url)
    if parts.query:
        return url
    path = parts.path or "/"
    return f"{parts.scheme}://{parts.netloc}{path}?data={quote(data, safe='')}"
