"""The HTTP middleware each replica's own HTTP server runs before Serve's request path.

Serve loads :func:`middlewares` from ``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH``
(``config.SERVE_ENV``) when a replica starts its HTTP server (direct ingress,
behind HAProxy).

For every request, Serve's direct ingress starts a task that watches the
client for a disconnect, and runs the handler in a second task so that it can
cancel it when the client goes away. A request that says it needs no watch
skips both tasks and the wait on them. The echo answers in microseconds and
reads a POST body itself (a client gone mid-body is a ``ClientDisconnect``
there), so the watch has nothing to cancel. What skipping it measured:
docs/echo.md.
"""

from __future__ import annotations

from typing import Any

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from jobs.runtime.ray_internals import disconnect_watch_off_header

WATCH_OFF = disconnect_watch_off_header()


class SkipDisconnectWatch:
    """Marks each HTTP request as one Serve need not watch for a disconnect."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # Last, so it wins over a value the client sent: Serve reads the
            # headers into a dict.
            scope["headers"] = [*scope["headers"], WATCH_OFF]
        await self.app(scope, receive, send)


def middlewares() -> list[Any]:
    """What ``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH`` names: Starlette middlewares."""
    return [Middleware(SkipDisconnectWatch)]
