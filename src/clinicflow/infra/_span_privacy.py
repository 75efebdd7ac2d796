"""Spans leave the process without PHI (DESIGN rule 10), whatever the instrumentation put in.

Every finished span passes through `scrubbed` before any exporter sees it: URL query strings
are dropped (`?email=`, `?phone=`, `?token=`), credential and PHI header attributes are
blanked, every other string (SQL text included: it holds placeholders, the values are bound
apart and never recorded) goes through the log scrubber, and exception events and error
descriptions keep only the exception's type — messages may quote what the caller sent
(`f"{type(exc).__name__}: {exc}"` is what the FastAPI instrumentation records).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from clinicflow.infra.logging import REDACTED, is_phi_key, scrub_text

# Attributes holding a whole URL or a request target: kept without query and fragment.
URL_KEYS = frozenset({"http.url", "url.full", "http.target", "url.original"})
# Attributes that are nothing but a query string: dropped.
QUERY_KEYS = frozenset({"url.query"})
_EXCEPTION_KEPT = frozenset({"exception.type", "exception.escaped"})


def without_query(url: str) -> str:
    if "?" not in url and "#" not in url:
        return url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def clean_attributes(attributes: Mapping[str, AttributeValue] | None) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in (attributes or {}).items():
        if key in QUERY_KEYS:
            continue
        if key in URL_KEYS and isinstance(value, str):
            cleaned[key] = without_query(value)
        elif is_phi_key(key) or _is_secret_header(key):
            cleaned[key] = REDACTED
        else:
            cleaned[key] = _clean_value(value)
    return cleaned


def _is_secret_header(key: str) -> bool:
    # http.request.header.authorization, http.response.header.set_cookie, …
    return ".header." in key and is_phi_key(key.rsplit(".header.", 1)[-1])


def _clean_value(value: AttributeValue) -> AttributeValue:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Sequence) and value and isinstance(value[0], str):
        return [scrub_text(str(item)) for item in value]
    return value


def _clean_event(event: Event) -> Event:
    if event.name != "exception":
        return Event(event.name, clean_attributes(event.attributes), event.timestamp)
    kept = {k: v for k, v in (event.attributes or {}).items() if k in _EXCEPTION_KEPT}
    return Event(event.name, kept, event.timestamp)


def scrubbed(span: ReadableSpan) -> ReadableSpan:
    """A copy of a finished span that carries no PHI, for the exporters."""
    status = span.status
    if status.status_code is StatusCode.ERROR and status.description:
        status = Status(StatusCode.ERROR)
    return ReadableSpan(
        name=scrub_text(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=clean_attributes(span.attributes),
        events=[_clean_event(event) for event in span.events],
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
