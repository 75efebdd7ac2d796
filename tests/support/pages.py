"""Reading the web pages over HTTP in tests: the CSRF token a page's forms carry, what the
Content-Security-Policy forbids, looked for in the HTML itself, the tables a page shows, and
a staff session presented as a browser presents it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from clinicflow.web.security import CSRF_FIELD

TOKEN = re.compile(rf'name="{CSRF_FIELD}" value="([0-9a-f]+)"')
INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),  # a script without src
    re.compile(r"<[^>]+\son[a-z]+\s*=", re.I),  # onclick= and the like
    re.compile(r"<[^>]+\sstyle\s*=", re.I),  # style attributes
    re.compile(r"<style", re.I),
    re.compile(r"(src|href)=\"(https?:)?//", re.I),  # anything from another origin
]


class _Tables(HTMLParser):
    """The page's tables by id: each row's cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id", "").removeprefix("table-")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def cookie(headers: dict[str, str]) -> dict[str, str]:
    """A staff session presented as the browser presents it: the cf_session cookie."""
    return {"Cookie": f"cf_session={headers['Authorization'].removeprefix('Bearer ')}"}
