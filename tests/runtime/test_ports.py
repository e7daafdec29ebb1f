"""free_port: a port that is free, outside the range outgoing connections take."""

from __future__ import annotations

import socket

from jobs.runtime import ports
from jobs.runtime.ports import LOWEST, ephemeral_start, free_port


def test_free_ports_are_bindable_and_below_the_ephemeral_range():
    ports = {free_port() for _ in range(50)}
    assert all(LOWEST <= p < ephemeral_start() for p in ports)
    assert len(ports) > 40  # random, not one port handed out again and again
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports.pop()))


def test_a_port_in_use_is_never_given(monkeypatch):
    """With two candidates and one of them listened on, the other comes back."""
    base = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base))
        taken.listen()
        monkeypatch.setattr(ports, "LOWEST", base)
        monkeypatch.setattr(ports, "ephemeral_start", lambda: base + 2)
        assert {ports.free_port() for _ in range(20)} == {base + 1}
