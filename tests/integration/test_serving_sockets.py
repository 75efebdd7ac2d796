"""The sockets `clinicflow serve` (and the tests' servers) listen on answer without Nagle's
delay on asyncio's own loop too: it sets TCP_NODELAY on an accepted connection only when the
listening socket's `proto` says TCP. With it left 0, a response's body, written after its
headers, waited for the client's delayed ACK: 40 ms in every small answer on a kept-alive
connection (44 ms a request, 2 ms with the option: benchmarks/README.md, keepalive_latency.py).
uvloop, where serve runs when it is installed, sets the option whatever the socket says."""

from __future__ import annotations

import asyncio
import socket

import pytest

from clinicflow.gateway import serving
from support.uvicorn_server import loopback_socket

# On asyncio's own loop (the suite's other async tests run on uvloop, as serve does): the
# option is asyncio's to set or not.
pytestmark = pytest.mark.asyncio_loop


async def nodelay_of_accepted(listening: socket.socket) -> int:
    """TCP_NODELAY on the server's side of a connection accepted on `listening`, served as
    uvicorn serves it (`loop.create_server(sock=...)`)."""
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[int] = loop.create_future()

    class Recorder(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await loop.create_server(Recorder, sock=listening)
    host, port = listening.getsockname()[:2]
    _, writer = await asyncio.open_connection(host, port)
    try:
        return await asyncio.wait_for(accepted, 10)
    finally:
        writer.close()
        server.close()
        await server.wait_closed()


async def test_serve_answers_without_nagles_delay() -> None:
    listening = serving.listen("127.0.0.1", 0)
    assert listening.proto == socket.IPPROTO_TCP
    assert await nodelay_of_accepted(listening) == 1


async def test_the_tests_loopback_servers_answer_without_nagles_delay() -> None:
    assert await nodelay_of_accepted(loopback_socket()) == 1


async def test_a_socket_that_leaves_its_protocol_unnamed_keeps_nagle_on() -> None:
    """Why the protocol is named: the check above tells the two apart."""
    unnamed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    unnamed.bind(("127.0.0.1", 0))
    assert await nodelay_of_accepted(unnamed) == 0
