"""The service an anonymous availability question names, as the funnel counts it
(gateway/cached_reads.py `service_asked`): read from the raw query string, the same answer
whether it was remembered or parsed, and a query past the remembered length still read."""

from __future__ import annotations

import pytest

from clinicflow.gateway.cached_reads import MAX_QUERY_BYTES, service_asked


@pytest.mark.parametrize(
    ("query", "service"),
    [
        (b"service=gaps_coaching&visit_type=initial&duration=60", "gaps_coaching"),
        (b"visit_type=initial&service=alternative_medicine", "alternative_medicine"),
        (b"service=gaps%5Fcoaching", "gaps_coaching"),  # percent-encoded, as a browser may
        (b"service=a&service=b", "b"),  # the last, as the route reads it (Starlette's QueryParams)
        (b"visit_type=initial", ""),
        (b"", ""),
    ],
)
def test_the_service_is_read_from_the_query(query: bytes, service: str) -> None:
    assert service_asked(query) == service
    assert service_asked(query) == service  # the remembered answer is the same


def test_a_query_longer_than_any_remembered_is_still_read() -> None:
    long = b"service=counseling&note=" + b"x" * MAX_QUERY_BYTES
    assert service_asked(long) == "counseling"
