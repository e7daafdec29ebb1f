"""Reading a request's ``data``: small pure functions, each refusal an HTTP status.

Standard library only: Serve replicas import it, and so does the load test
that checks the replies.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from jobs.echo.config import (
    DEFAULT_MAX_DATA_BYTES,
    DRAIN_LIMIT_BYTES,
    JSON_ENVELOPE_BYTES,
    JSON_ESCAPE_FACTOR,
    MAX_DATA_ENV,
)

if TYPE_CHECKING:
    from starlette.requests import Request


class EchoError(Exception):
    """A request the service refuses: an HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def max_data_bytes_from_env(environ: dict[str, str] | None = None) -> int:
    value = (os.environ if environ is None else environ).get(MAX_DATA_ENV)
    return DEFAULT_MAX_DATA_BYTES if value is None else check_limit(value, MAX_DATA_ENV)


def check_limit(value: Any, name: str) -> int:
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number of bytes, got {value!r}") from None
    if limit <= 0:
        raise ValueError(f"{name} must be positive, got {limit}")
    return limit


def body_limit(max_data_bytes: int) -> int:
    return JSON_ESCAPE_FACTOR * max_data_bytes + JSON_ENVELOPE_BYTES


def _check_size(data: bytes, max_data_bytes: int) -> None:
    if len(data) > max_data_bytes:
        raise EchoError(
            413, f"data is {len(data)} bytes; the limit is {max_data_bytes} bytes (UTF-8)"
        )


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise EchoError(400, f"{where} is not valid UTF-8") from None


def data_from_query(query_string: bytes, max_data_bytes: int) -> str:
    """The first ``data`` parameter of a raw query string, percent-decoded as UTF-8.

    Decoding the raw bytes (not a pre-decoded str) lets invalid UTF-8 be
    refused instead of silently replaced.
    """
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        if unquote_to_bytes(name.replace(b"+", b" ")) == b"data":
            raw = unquote_to_bytes(value.replace(b"+", b" "))
            _check_size(raw, max_data_bytes)
            return _decode(raw, "the data parameter")
    raise EchoError(400, 'missing \'data\': call GET /?data=... or POST {"data": "..."}')


def data_from_json(body: bytes, max_data_bytes: int) -> str:
    """``data`` from a JSON object body; every way a body can be wrong is a 400."""
    text = _decode(body, "the request body")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EchoError(400, f"the request body is not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise EchoError(400, "the request body is not valid JSON: nested too deeply") from None
    if not isinstance(payload, dict):
        raise EchoError(400, 'the request body must be a JSON object like {"data": "..."}')
    if "data" not in payload:
        raise EchoError(400, "missing 'data' in the JSON object")
    data = payload["data"]
    if not isinstance(data, str):
        raise EchoError(400, f"'data' must be a string, got {type(data).__name__}")
    try:
        encoded = data.encode("utf-8")
    except UnicodeEncodeError:  # JSON allows lone surrogates (\ud800); text cannot carry them
        raise EchoError(400, "'data' contains an unpaired surrogate") from None
    _check_size(encoded, max_data_bytes)
    return data


def reply_text(data: str) -> str:
    return f"Received data: {data}"


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or a 413 once it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max(limit, DRAIN_LIMIT_BYTES):
        raise EchoError(413, f"the request body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > DRAIN_LIMIT_BYTES:
            break
    if size > limit:
        raise EchoError(413, f"the request body is over {limit} bytes")
    return b"".join(chunks)
