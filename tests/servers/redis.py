"""A password-protected redis-server on a free loopback port, for Ray's GCS.

The password is in a 0600 config file, not on the command line, so ``ps``
does not show it (Ray itself passes it to gcs_server as a flag).
"""

from __future__ import annotations

import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from jobs.runtime.ports import free_port
from tests.servers import process

START_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Redis:
    host: str
    port: int
    password: str
    pid: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self, *words: str) -> bytes:
        """One authenticated command over RESP; its raw reply.

        QUIT after it makes Redis close the connection, so the reply is
        everything read before the end minus QUIT's own ``+OK``.
        """
        request = b"".join(_resp("AUTH", self.password) + _resp(*words) + _resp("QUIT"))
        with socket.create_connection((self.host, self.port), timeout=2) as conn:
            conn.sendall(request)
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
        auth, _, rest = reply.partition(b"\r\n")
        if auth != b"+OK":
            raise RuntimeError(f"Redis refused the password: {auth[:80]!r}")
        return rest.removesuffix(b"+OK\r\n")


def _resp(*words: str) -> list[bytes]:
    encoded = [w.encode() for w in words]
    return [f"*{len(encoded)}\r\n".encode(), *(b"$%d\r\n%s\r\n" % (len(w), w) for w in encoded)]


def _answers(redis: Redis) -> bool:
    try:
        return redis.command("PING").startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server() -> Iterator[Redis]:
    """Start redis-server with ``requirepass`` and no persistence; stop it by pid."""
    binary = process.require("redis-server", "redis-server")
    workdir = Path(tempfile.mkdtemp(prefix="ray101-redis-"))
    port, password = free_port(), secrets.token_urlsafe(24)
    config = workdir / "redis.conf"
    config.touch(mode=0o600)
    config.write_text(
        f"bind 127.0.0.1\nport {port}\nrequirepass {password}\n"
        f'dir {workdir}\nsave ""\nappendonly no\nprotected-mode yes\n'
    )
    log_path = workdir / "redis.log"
    proc = process.start([binary, str(config)], log_path, cwd=workdir)
    try:
        redis = Redis("127.0.0.1", port, password, proc.pid)
        process.wait_ready(proc, lambda: _answers(redis), "redis-server", log_path, START_TIMEOUT_S)
        yield redis
    finally:
        process.stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)
