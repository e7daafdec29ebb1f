"""Local TCP ports: the one helper every server this project starts uses."""

from __future__ import annotations

import random
import socket
from pathlib import Path

# Below the kernel's ephemeral range, where no outgoing connection is ever given
# a port, and above Ray's worker ports (10002-19999 by default).
LOWEST = 20000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_start() -> int:
    """The first port the kernel hands to outgoing connections (Linux's 32768 by default)."""
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now, IPv4 or IPv6 by ``host``.

    Taken below the ephemeral range: a port the OS picks (bind to 0) comes from
    that range, and between this call and the server's own bind any process's
    outgoing connection may be given it (a SeaweedFS filer once failed to start
    so, its own master and volume servers connecting out as it started)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    high = ephemeral_start() - 1
    for _ in range(100):
        port = random.randint(LOWEST, high) if high > LOWEST else 0
        with socket.socket(family) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError(f"no free port on {host} between {LOWEST} and {high}")
