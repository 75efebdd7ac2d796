"""A real CalDAV server for the contract tests: Radicale (from PyPI, the dev extra) in its own
process, on a free loopback port, storing into a temporary folder.

`auth-type none` accepts any user name and password (Radicale's default since 3.5 is
`denyall`), and `owner_only` rights give each user the collections under /<user>/: the
adapters under test send Basic credentials as they would to a clinic's server.
The helpers below write calendars and events with plain WebDAV requests (MKCALENDAR, PUT),
so the adapter under test is the only CalDAV client reading them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from support.loopback_tls import loopback_tls

PASSWORD = "radicale-test-password"  # any: auth-type none takes every password


@dataclass(frozen=True)
class Radicale:
    url: str  # http://127.0.0.1:PORT

    def calendar_url(self, user: str, name: str) -> str:
        return f"{self.url}/{user}/{name}/"

    def make_calendar(self, user: str, name: str) -> str:
        """A new, empty calendar collection; its URL."""
        url = self.calendar_url(user, name)
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:set><D:prop><D:displayname>{name}</D:displayname></D:prop></D:set>"
            "</C:mkcalendar>"
        )
        with _client(user) as http:
            response = http.request("MKCALENDAR", url, content=body)
        assert response.status_code == 201, (response.status_code, response.text)
        return url

    def put(self, user: str, calendar: str, name: str, ics: str) -> str:
        """Stores one calendar object (`name`.ics); its ETag."""
        with _client(user) as http:
            response = http.put(
                f"{self.calendar_url(user, calendar)}{name}.ics",
                content=ics.replace("\n", "\r\n").encode(),
                headers={"Content-Type": "text/calendar; charset=utf-8"},
            )
        assert response.status_code in (201, 204), (response.status_code, response.text)
        return response.headers.get("ETag", "")

    def delete(self, user: str, calendar: str, name: str) -> None:
        with _client(user) as http:
            response = http.delete(f"{self.calendar_url(user, calendar)}{name}.ics")
        assert response.status_code in (200, 204), (response.status_code, response.text)


def _client(user: str) -> httpx.Client:
    return httpx.Client(auth=(user, PASSWORD), trust_env=False, timeout=10, verify=loopback_tls())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"radicale exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("radicale did not start listening in time")


def start_radicale(folder: Path) -> tuple[Radicale, subprocess.Popen[bytes]]:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "radicale",
        "--config",
        "",  # no system or user configuration file
        "--storage-filesystem-folder",
        str(folder),
        "--server-hosts",
        f"127.0.0.1:{port}",
        "--auth-type",
        "none",
        "--rights-type",
        "owner_only",
        "--logging-level",
        "warning",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RADICALE")}
    log = (folder / "radicale.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    log.close()
    try:
        _wait_until_listening(port, process, time.monotonic() + 20)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return Radicale(f"http://127.0.0.1:{port}"), process


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    """One server per test worker; each test makes its own calendars (unique names)."""
    server, process = start_radicale(tmp_path_factory.mktemp("radicale"))
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
