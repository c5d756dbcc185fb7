"""The TCP ports a run's kernel binds, chosen below the system's ephemeral range.

jupyter_client picks a kernel's five ports by binding port 0 and letting
go: the system hands out a port of its ephemeral range, the range every
outgoing connection (an HTTP request, a client's ZMQ connect, a Dask
worker's) also takes its local port from. Between that pick and the
kernel's own bind, any such connection may take the port: the kernel then
fails with "Address already in use" (jupyter_client#487; seen in CI, a run
waiting a minute for a kernel that could not start). A port below the
ephemeral range is never given to an outgoing connection; one is drawn at
random there, checked free by binding it, and kept in jupyter_client's
``LocalPortCache`` (so no kernel of this process is given it twice, and the
provisioner returns it when the kernel is cleaned up). Where the range
cannot be read (not Linux), or no free port is drawn, jupyter_client's own
choice stands.
"""

from __future__ import annotations

import random
import socket
from functools import lru_cache

from jupyter_client.connect import LocalPortCache

EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
SPAN = 12000  # ports below the ephemeral range drawn from (32768 - 12000 = 20768 by default)
LOWEST = 10000  # never below: the usual ports of development servers and services
DRAWS = 50  # bounded: the range is large, a drawn port is almost always free


@lru_cache(maxsize=1)
def quiet_range() -> range | None:
    """The ports below the ephemeral range that kernels draw from; None where the range is unknown or too low."""
    try:
        with open(EPHEMERAL_RANGE) as numbers:
            low = int(numbers.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    start = max(LOWEST, low - SPAN)
    return range(start, low) if low - start >= 1000 else None


def kernel_port(ip: str) -> int:
    """A free port for a kernel on ``ip``, held in ``LocalPortCache`` until the provisioner returns it."""
    cache = LocalPortCache.instance()
    ports = quiet_range()
    if ports is not None:
        for _ in range(DRAWS):
            port = random.choice(ports)
            if port not in cache.currently_used_ports and _free(ip, port):
                cache.currently_used_ports.add(port)
                return port
    return cache.find_available_port(ip)


def _free(ip: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((ip, port))
        except OSError:
            return False
    return True
