"""Search answers: a `searchset` Bundle of one page, `_count` per page, with `self`, `next`
and `previous` links that carry the same search (and `_offset`)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from clinicflow.fhir.resources import Json
from clinicflow.shared.errors import InvalidRequest

DEFAULT_COUNT = 50
MAX_COUNT = 500
MAX_OFFSET = 10_000


def paging(count: int | None, offset: int | None) -> tuple[int, int]:
    count = DEFAULT_COUNT if count is None else count
    offset = 0 if offset is None else offset
    if not 0 <= count <= MAX_COUNT:
        raise InvalidRequest(f"_count: give 0 to {MAX_COUNT}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidRequest(f"_offset: give 0 to {MAX_OFFSET}")
    return count, offset


def searchset(
    base_url: str,
    resource_type: str,
    params: Sequence[tuple[str, str]],
    found: Sequence[Json],
    count: int,
    offset: int,
    *,
    more: bool = False,
) -> Json:
    """A page of `found` (every match, or — with `more` — a longer list than the page)."""
    page = list(found[offset : offset + count])
    has_next = offset + count < len(found) or more

    def link(relation: str, at: int) -> Json:
        query = urlencode([*params, ("_count", str(count)), ("_offset", str(at))])
        return {"relation": relation, "url": f"{base_url}/{resource_type}?{query}"}

    links = [link("self", offset)]
    if has_next and count > 0:
        links.append(link("next", offset + count))
    if offset > 0:
        links.append(link("previous", max(0, offset - count)))
    bundle: Json = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in page
        ],
    }
    if not more:
        bundle["total"] = len(found)
    return bundle


def collection(entries: Sequence[Json]) -> Json:
    """`$find`'s answer: proposed appointments, which have no id of their own yet."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(entries),
        "entry": [{"resource": e, "search": {"mode": "match"}} for e in entries],
    }
