"""The Serve deployment: ``Received data: X`` for ``GET /?data=X`` and ``POST / {"data": X}``.

The module Serve replicas import (through ``jobs.echo:app``): it imports only
Ray Serve, Starlette and the pure modules beside it, never the commands.
"""

from __future__ import annotations

from typing import Any

from ray import serve
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from jobs.echo.config import DEPLOYMENT_NAME, DEPLOYMENT_OPTIONS, HEALTH_ROUTE
from jobs.echo.parsing import (
    EchoError,
    body_limit,
    check_limit,
    data_from_json,
    data_from_query,
    max_data_bytes_from_env,
    read_body,
    reply_text,
)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


@serve.deployment(name=DEPLOYMENT_NAME, **DEPLOYMENT_OPTIONS)
class Echo:
    """``Received data: X`` for ``GET /?data=X`` and ``POST / {"data": X}``."""

    def __init__(self) -> None:
        self.max_data_bytes = max_data_bytes_from_env()

    def reconfigure(self, config: dict[str, Any]) -> None:
        """Serve ``user_config``: ``{max_data_bytes: N}`` changes the limit in place."""
        if "max_data_bytes" in config:
            self.max_data_bytes = check_limit(config["max_data_bytes"], "max_data_bytes")

    # An async handler runs on the replica's event loop: no thread hop per
    # request, and many requests in flight on one replica.
    async def __call__(self, request: Request) -> Response:
        scope = request.scope
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        if path != "/":
            if path == HEALTH_ROUTE:
                return PlainTextResponse("success")
            return error_response(404, f"no route {path}; the echo service answers on /")
        method = scope["method"]
        try:
            if method in ("GET", "HEAD"):
                data = data_from_query(scope["query_string"], self.max_data_bytes)
            elif method == "POST":
                body = await read_body(request, body_limit(self.max_data_bytes))
                data = data_from_json(body, self.max_data_bytes)
            else:
                return error_response(
                    405, f"method {method} not allowed", {"Allow": "GET, HEAD, POST"}
                )
        except EchoError as exc:
            return error_response(exc.status, exc.message)
        except ClientDisconnect:
            return error_response(400, "the client went away before sending the whole body")
        return PlainTextResponse(reply_text(data))


app = Echo.bind()
