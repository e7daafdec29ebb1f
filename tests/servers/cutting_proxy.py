"""A TCP proxy on a free loopback port that cuts a connection once, mid-stream.

Between a client and a real server: it forwards both ways, and the first
time one connection has carried ``cut_after`` bytes from the server it
closes both of that connection's sockets, as a failover or a dropped flow
would. Only a connection that streams data reaches the mark (a client's
heartbeats stay far below it), so the cut lands inside a reply.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from jobs.runtime.ports import free_port

_CHUNK = 16 * 1024


@dataclass
class CuttingProxy:
    port: int
    target: tuple[str, int]
    cut_after: int
    cuts: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _should_cut(self, carried: int) -> bool:
        with self._lock:
            if self.cuts == 0 and carried >= self.cut_after:
                self.cuts = 1
                return True
            return False

    def _serve(self, client: socket.socket) -> None:
        server = socket.create_connection(self.target, timeout=30)
        client.settimeout(None)
        server.settimeout(None)

        def close_both() -> None:
            for sock in (client, server):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

        def upstream() -> None:
            try:
                while data := client.recv(_CHUNK):
                    server.sendall(data)
            except OSError:
                pass
            close_both()

        threading.Thread(target=upstream, daemon=True).start()
        carried = 0
        try:
            while data := server.recv(_CHUNK):
                client.sendall(data)
                carried += len(data)
                if self._should_cut(carried):
                    break
        except OSError:
            pass
        close_both()


@contextmanager
def cutting_proxy(target: tuple[str, int], cut_after: int) -> Iterator[CuttingProxy]:
    listener = socket.create_server(("127.0.0.1", free_port()))
    proxy = CuttingProxy(port=listener.getsockname()[1], target=target, cut_after=cut_after)

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            threading.Thread(target=proxy._serve, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield proxy
    finally:
        listener.close()
