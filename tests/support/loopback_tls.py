"""The TLS context of the suite's HTTP clients to its loopback servers, made once per process.

httpx makes a new context for each client it builds (loading the CA bundle: ~20 ms of CPU),
and the race and fuzz tests build one per request, on purpose, for fresh connections; a
py-spy profile of the whole suite found 3% of its CPU there. The context is the one httpx
would make (certifi's CA bundle, hostnames checked); sharing it changes nothing else."""

from __future__ import annotations

import functools
import ssl

import certifi


@functools.cache
def loopback_tls() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())
