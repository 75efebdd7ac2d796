"""What a webhook subscription may point at and ask for."""

from __future__ import annotations

import pytest

from clinicflow.webhooks.domain.rules import (
    DEFAULT_EVENT_TYPES,
    RuleViolation,
    check_event_types,
    check_url,
    matches,
)


@pytest.mark.parametrize(
    "url",
    ["https://crm.example.com/hooks", "https://crm.example.com:8443/hooks?source=clinic"],
)
def test_https_urls_are_accepted(url: str) -> None:
    assert check_url(f"  {url} ") == url


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/hook", "http://localhost/hook", "http://[::1]:8080/hook"]
)
def test_plain_http_is_refused_even_on_loopback_unless_development_allows_it(url: str) -> None:
    with pytest.raises(RuleViolation, match="must use https"):
        check_url(url)
    assert check_url(url, allow_http=True) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://crm.example.com/hooks", "must use https"),
        ("http://10.0.0.5/hooks", "must use https"),
        ("ftp://crm.example.com/hooks", "absolute https URL"),
        ("crm.example.com/hooks", "absolute https URL"),
        ("https:///hooks", "absolute https URL"),
        ("https://user:pw@crm.example.com/hooks", "credentials"),
        ("https://crm.example.com/hooks#part", "fragment"),
        ("https://crm.example.com:http/hooks", "not a valid URL"),
        ("", "absolute https URL"),
        ("https://crm.example.com/" + "a" * 2048, "at most 2048"),
    ],
)
def test_other_urls_are_refused_naming_the_field_and_the_fix(url: str, reason: str) -> None:
    with pytest.raises(RuleViolation, match=reason) as refused:
        check_url(url)
    assert refused.value.field == "url"


def test_event_types_are_known_ones_sorted_and_deduplicated() -> None:
    wanted = ["booking.cancelled", "booking.created", "booking.cancelled"]
    assert check_event_types(wanted, DEFAULT_EVENT_TYPES) == [
        "booking.cancelled",
        "booking.created",
    ]


def test_a_star_alone_means_every_event() -> None:
    assert check_event_types(["*"], DEFAULT_EVENT_TYPES) == ["*"]
    assert matches(["*"], "payment.refunded")
    assert matches(["booking.created"], "booking.created")
    assert not matches(["booking.created"], "booking.cancelled")


@pytest.mark.parametrize(
    ("wanted", "reason"),
    [
        ([], "at least one"),
        (["booking.exploded"], "unknown booking.exploded; choose from"),
        (["*", "booking.created"], "list it alone"),
    ],
)
def test_unknown_or_empty_event_types_are_refused(wanted: list[str], reason: str) -> None:
    with pytest.raises(RuleViolation, match=reason) as refused:
        check_event_types(wanted, DEFAULT_EVENT_TYPES)
    assert refused.value.field == "event_types"
