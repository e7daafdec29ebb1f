"""The MongoDB a command uses: ``--uri`` (else ``MONGODB_URI``) when one is
set, else the nx-27017 stand-in started for the command, with generated data."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from jobs.mongo import client, standin
from jobs.mongo.data import DataSpec
from jobs.mongo.load import load
from jobs.runtime.errors import UsageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Server:
    uri: str
    # True when it is the stand-in started here (and gone when the block ends).
    standin: bool


def preflight(uri: str | None, use_standin: bool, missing: str, standin_does: str) -> str | None:
    """The URI to use (``--uri``, else ``MONGODB_URI``), its server answering, or
    None for the stand-in; before Ray starts, so a mistake fails in seconds.

    Without a URI or ``--standin`` it is a usage error: ``missing`` names what
    needs MongoDB, ``standin_does`` what ``--standin`` gives instead.
    """
    uri = client.resolve_uri(uri)
    if uri:
        client.install_log_redaction(uri)
        client.connect(uri).close()
        if use_standin:
            log.info("a MongoDB URI is set, so --standin is not used")
        return uri
    if not use_standin:
        raise UsageError(
            f"{missing}: set {client.URI_ENV}, pass --uri URI, or --standin {standin_does}"
        )
    return None


@contextmanager
def server(
    uri: str | None,
    data: DataSpec | None = None,
    db: str = client.DEFAULT_DB,
    announce: bool = True,
) -> Iterator[Server]:
    """``uri`` as it is when given; else a stand-in, with ``data`` generated and
    loaded into ``db`` when given (a real server's data is never touched here).

    ``announce`` prints one line on stderr naming the stand-in.
    """
    if uri:
        yield Server(uri, standin=False)
        return
    with standin.standin(announce=announce) as standin_uri:
        if data is not None:
            mongo = client.connect(standin_uri)
            try:
                load(mongo[db], data.generate(), progress=sys.stderr.isatty())
            finally:
                mongo.close()
        yield Server(standin_uri, standin=True)
