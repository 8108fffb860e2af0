"""Free loopback ports for the servers and workers tests start."""

from __future__ import annotations

import socket

_GIVEN_PORTS: set[int] = set()


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for a worker's web server), never one this process has
    handed out before: two workers set up before either starts would otherwise be given the
    same port (the kernel offers a port again once its probe socket is closed)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port
