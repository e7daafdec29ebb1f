"""MongoDB plumbing shared by the loader and the ``mongo`` workload.

Where the connection string comes from (``--uri``, else ``MONGODB_URI``), how
a client is made so that an unreachable server fails in seconds, and how the
password is kept out of everything printed or logged.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pymongo import MongoClient
from pymongo.errors import ConfigurationError, OperationFailure, PyMongoError

from jobs.runtime.errors import UsageError, first_line

log = logging.getLogger(__name__)

URI_ENV = "MONGODB_URI"
DEFAULT_DB = "sample_mflix"

# How long pymongo looks for a server before giving up. The driver's default
# is 30 s, which makes a typo in a host name look like a hang.
SERVER_SELECTION_TIMEOUT_MS = 5_000
CONNECT_TIMEOUT_MS = 5_000

_URI = re.compile(r"mongodb(?:\+srv)?://[^\s'\"<>]+")
_MASK = "***"


def resolve_uri(uri: str | None = None) -> str | None:
    """``--uri`` when given, else ``$MONGODB_URI``; None when neither is set."""
    return uri or os.environ.get(URI_ENV) or None


def _password(uri: str) -> str | None:
    """The password part of a connection string, as written (maybe %-escaped)."""
    match = _URI.search(uri)
    if not match:
        return None
    rest = match.group(0).split("://", 1)[1]
    authority = rest.split("?", 1)[0]
    at = authority.rfind("@")
    if at < 0 or ":" not in authority[:at]:
        return None
    return authority[:at].split(":", 1)[1] or None


def _mask_one(match: re.Match[str]) -> str:
    scheme, rest = match.group(0).split("://", 1)
    authority, sep, query = rest.partition("?")
    # The last "@" before the query ends the user info even when a careless
    # password contains an unescaped "@" or "/".
    at = authority.rfind("@")
    if at < 0:
        return match.group(0)
    user, colon, _ = authority[:at].partition(":")
    masked = f"{user}:{_MASK}" if colon else user
    return f"{scheme}://{masked}{authority[at:]}{sep}{query}"


def redact(text: str, uri: str | None = None) -> str:
    """``text`` with the password of every MongoDB URI in it replaced by ``***``.

    When ``uri`` is given, its password is also masked wherever it appears
    on its own (an error message may quote it without the rest of the URI).
    """
    out = _URI.sub(_mask_one, str(text))
    secret = _password(uri) if uri else None
    if secret:
        for form in {secret, unquote(secret)}:
            if len(form) >= 3:  # a one-letter password would mask half the text
                out = out.replace(form, _MASK)
    return out


class RedactingFilter(logging.Filter):
    """Masks MongoDB passwords in every record a handler writes."""

    def __init__(self, uri: str | None = None) -> None:
        super().__init__()
        self.uri = uri

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.uri)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_log_redaction(uri: str | None = None) -> None:
    """Add a :class:`RedactingFilter` to every root handler (once per handler)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(uri))
        else:
            for f in handler.filters:
                if isinstance(f, RedactingFilter) and uri:
                    f.uri = uri


def make_client(uri: str, **options: Any) -> MongoClient:
    """A pooled client that gives up on an unreachable server within seconds.

    Constructing a client does not connect; :func:`connect` does and checks.
    """
    settings: dict[str, Any] = {
        "serverSelectionTimeoutMS": SERVER_SELECTION_TIMEOUT_MS,
        "connectTimeoutMS": CONNECT_TIMEOUT_MS,
        "appname": "ray101",
    }
    # A timeout the URI names wins over these defaults: pymongo lets keyword
    # arguments override the URI, and the chart's in-cluster URI asks for more
    # patience than a typed one (a new flow through a NetworkPolicy-enforcing
    # network can wait seconds for its first packet on a busy node).
    named = {key.lower() for key in parse_qs(urlsplit(uri).query)}
    settings = {k: v for k, v in settings.items() if k.lower() not in named}
    settings.update(options)
    try:
        return MongoClient(uri, **settings)
    except (ConfigurationError, ValueError, TypeError) as exc:
        raise UsageError(f"invalid MongoDB URI {redact(uri)}: {redact(str(exc), uri)}") from None


def connect(uri: str, **options: Any) -> MongoClient:
    """:func:`make_client` plus a ping, so every way of not reaching the server
    (bad host, closed port, wrong password) is one UsageError line."""
    client = make_client(uri, **options)
    try:
        client.admin.command("ping")
    except OperationFailure as exc:
        client.close()
        raise UsageError(
            f"MongoDB at {redact(uri)} refused the connection: {_first_reason(exc, uri)}"
        ) from None
    except PyMongoError as exc:
        client.close()
        raise UsageError(
            f"cannot reach MongoDB at {redact(uri)}: {_first_reason(exc, uri)}"
        ) from None
    except Exception as exc:  # a server that answers, but not as MongoDB does
        client.close()
        raise UsageError(
            f"unexpected answer from {redact(uri)} (is it MongoDB?): "
            f"{type(exc).__name__}: {_first_reason(exc, uri)}"
        ) from None
    return client


def _first_reason(exc: Exception, uri: str) -> str:
    """The useful head of a pymongo error, without its timeouts and topology dump."""
    text = re.split(r" \(configured timeouts|, Timeout: ", first_line(exc))[0]
    return redact(text, uri)


def build_info(client: MongoClient) -> dict[str, Any]:
    try:
        return client.admin.command("buildInfo")
    except PyMongoError:
        return {}


def server_label(client: MongoClient) -> str:
    """What the figures were measured against, in words.

    A real mongod's buildInfo has no ``process`` field; a wire-protocol
    look-alike that names itself there is labelled as not MongoDB.
    """
    info = build_info(client)
    version, process = info.get("version"), info.get("process")
    if process and process not in ("mongod", "mongos"):
        return f"{process}, claiming MongoDB {version or '?'} (not MongoDB)"
    return f"MongoDB {version}" if version else "a server that reports no version"
