"""A web server on loopback publishing .ics files, as Google, Outlook or a school publish a
calendar: an ETag and Last-Modified with each file, 304 Not Modified to a request that
names the current ETag, and a count of what it answered."""

from __future__ import annotations

import hashlib

from support.fake_http import Reply, Request
from support.fake_vendor import Loopback

LAST_MODIFIED = "Mon, 02 Mar 2026 12:00:00 GMT"


class FakeIcsHost(Loopback):
    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, str] = {}  # path → iCalendar text
        self.statuses: list[int] = []
        self.failing: int | None = None

    def publish(self, path: str, text: str) -> str:
        with self._lock:
            self.files[path] = text
        return f"{self.url}{path}"

    def _handle(self, request: Request) -> Reply:
        reply = self._answer(request)
        with self._lock:
            self.statuses.append(reply.status)
        return reply

    def _answer(self, request: Request) -> Reply:
        if self.failing is not None:
            return Reply(self.failing, {})
        with self._lock:
            text = self.files.get(request.path)
        if text is None:
            return Reply(404, {"Content-Type": "text/plain"}, b"not found")
        body = text.replace("\n", "\r\n").encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
        if request.headers.get("if-none-match") == etag:
            return Reply(304, headers)
        return Reply(200, {**headers, "Content-Type": "text/calendar; charset=utf-8"}, body)
