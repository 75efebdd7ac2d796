"""How `clinicflow serve` runs the app under uvicorn: its listening sockets (the API port, and
the metrics port when one is set) and the options that make the edge trustworthy.

X-Forwarded-For decides the client address every per-address rule uses (rate limits, audit
rows); uvicorn believes it only from `Settings.trusted_proxies`, and from nobody by default.
(uvicorn reads X-Forwarded-For and -Proto; the RFC 7239 `Forwarded` header is not read.)
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from clinicflow.settings import Settings

FACTORY = "clinicflow.gateway.app:app_from_env"


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy-header options: honoured only from the trusted proxies."""
    if not settings.trusted_proxies:
        # uvicorn's own default would trust 127.0.0.1 (or $FORWARDED_ALLOW_IPS).
        return {"proxy_headers": False}
    return {
        "proxy_headers": True,
        "forwarded_allow_ips": [str(network) for network in settings.trusted_proxies],
    }


def uvicorn_config(
    settings: Settings,
    app: FastAPI | str,
    host: str,
    port: int,
    *,
    workers: int = 1,
    tls: tuple[Path, Path] | None = None,  # certificate and key (PEM): serve HTTPS
    shutdown_seconds: int = 20,
) -> uvicorn.Config:
    cert, key = (str(tls[0]), str(tls[1])) if tls else (None, None)
    # log_config=None keeps uvicorn's lines on our redacting JSON handler. Its access log is
    # off: the app writes its own, PHI-free by construction (infra.logging.access_line).
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": False,
        "ssl_certfile": cert,
        "ssl_keyfile": key,
        # Without a bound, SIGTERM waits for every open connection however long it takes.
        "timeout_graceful_shutdown": shutdown_seconds,
        **proxy_options(settings),
    }
    if workers > 1:
        # Each worker imports the factory and builds its own app from the environment. A
        # worker imports the whole CLI before it answers the supervisor's health check:
        # uvicorn's 5 s is too short on a busy host.
        options |= {"factory": True, "workers": workers, "timeout_worker_healthcheck": 30}
    return uvicorn.Config(app, **options)


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port. Its protocol is named (IPPROTO_TCP), not left 0:
    asyncio's own loop turns Nagle's algorithm off only on connections whose listening
    socket's `proto` says TCP, and with it on, a response's body (written after its headers)
    waits for the client's delayed ACK, 40 ms on Linux, in every small answer on a kept-alive
    connection. uvloop (what serve runs on where it installs) sets TCP_NODELAY either way
    (benchmarks/README.md, "keepalive_latency.py")."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)  # worker processes accept on it too
    return sock


def sockets(settings: Settings, host: str, port: int) -> list[socket.socket]:
    """The API's socket, and the metrics port's when one is set (the app tells them apart
    by the port a request arrived on: observability.MetricsPort)."""
    found = [listen(host, port)]
    if settings.metrics_port is not None:
        found.append(listen(host, settings.metrics_port))
    return found


def run(config: uvicorn.Config, listening: Sequence[socket.socket]) -> None:
    """Serve on the given sockets until a signal stops the server (or all its workers)."""
    if config.workers > 1:
        Multiprocess(config, sockets=list(listening)).run()
        return
    uvicorn.Server(config).run(sockets=list(listening))
