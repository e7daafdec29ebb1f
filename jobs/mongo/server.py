"""The MongoDB a command uses: ``--uri`` (else ``MONGODB_URI``) when one is
set, else the nx-27017 stand-in started for the command, with generated data."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from jobs.mongo import client, standin
from jobs.mongo.data import DataSpec
from jobs.mongo.load import load


@dataclass(frozen=True)
class Server:
    uri: str
    # True when it is the stand-in started here (and gone when the block ends).
    standin: bool


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
