"""CalDAV's REPORTs (RFC 4791, RFC 6578) as request bodies, and their multistatus answers read
back: calendar-query with a time-range, free-busy-query, sync-collection and
calendar-multiget. XML from the server is parsed with defusedxml (no entities, no DTDs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml.ElementTree import ParseError, fromstring

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
_PROLOG = '<?xml version="1.0" encoding="utf-8"?>'
_NS = f'xmlns:D="{DAV}" xmlns:C="{CALDAV}"'


class UnreadableAnswer(ValueError):
    """The server's answer is not the multistatus the REPORT promises."""


@dataclass(frozen=True, slots=True)
class Resource:
    """One calendar object resource in a multistatus: its href (absolute URL), ETag, and
    calendar data when asked for; `gone` when sync-collection reports it removed."""

    href: str
    etag: str | None = None
    data: bytes | None = None
    gone: bool = False


def _stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_query(start: datetime, end: datetime) -> str:
    """The VEVENTs overlapping [start, end), whole (recurrences expanded by the client, in the
    clinic's zone: servers' own expansion differs, and floating times need a zone)."""
    return (
        f"{_PROLOG}<C:calendar-query {_NS}>"
        "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{_stamp(start)}" end="{_stamp(end)}"/>'
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )


def free_busy_query(start: datetime, end: datetime) -> str:
    return (
        f"{_PROLOG}<C:free-busy-query {_NS}>"
        f'<C:time-range start="{_stamp(start)}" end="{_stamp(end)}"/></C:free-busy-query>'
    )


def sync_collection(token: str | None) -> str:
    token_element = f"<D:sync-token>{escape(token)}</D:sync-token>" if token else "<D:sync-token/>"
    return (
        f"{_PROLOG}<D:sync-collection {_NS}>{token_element}"
        "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
    )


def multistatus(body: bytes, base: str) -> tuple[list[Resource], str | None]:
    """The resources of a 207 answer (hrefs made absolute against `base`) and its sync token."""
    try:
        root: Element = fromstring(body)
    except ParseError as exc:
        raise UnreadableAnswer(f"not XML ({exc})") from exc
    if root.tag != f"{{{DAV}}}multistatus":
        raise UnreadableAnswer(f"not a multistatus but {root.tag}")
    resources = [_resource(r, base) for r in root.findall(f"{{{DAV}}}response")]
    token = root.findtext(f"{{{DAV}}}sync-token")
    return [r for r in resources if r is not None], token.strip() if token else None


def _resource(response: Element, base: str) -> Resource | None:
    href = response.findtext(f"{{{DAV}}}href")
    if not href:
        return None
    url = urljoin(base, href.strip())
    status = response.findtext(f"{{{DAV}}}status") or ""
    if " 404" in status:  # sync-collection: the member was removed
        return Resource(url, gone=True)
    etag: str | None = None
    data: bytes | None = None
    for propstat in response.findall(f"{{{DAV}}}propstat"):
        if " 200" not in (propstat.findtext(f"{{{DAV}}}status") or ""):
            continue
        prop = propstat.find(f"{{{DAV}}}prop")
        if prop is None:
            continue
        etag = prop.findtext(f"{{{DAV}}}getetag") or etag
        text = prop.findtext(f"{{{CALDAV}}}calendar-data")
        if text:
            data = text.encode()
    return Resource(url, etag=etag.strip() if etag else None, data=data)


def refuses_token(status: int, body: bytes) -> bool:
    """RFC 6578 §3.2: an unknown or expired token is 403 (or 409) with DAV:valid-sync-token."""
    return status in (403, 409) and b"valid-sync-token" in body
