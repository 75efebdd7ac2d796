"""Where a patient's sign-in link may lead after signing in: a page of their own area, by
path, and nowhere else (no other origin, no API, no path that climbs out of /me)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinicflow.identity.sessions.domain.link import local_page, message


@pytest.mark.parametrize(
    "then",
    ["/me", "/me/details", "/me/visits/0b7c-4e1f_9", "/me/receipts/3f2a9c1e-aa"],
)
def test_a_page_of_the_area_is_kept(then: str) -> None:
    assert local_page(then) == then


@pytest.mark.parametrize(
    "then",
    [
        None,
        "",
        "https://evil.example/me",
        "//evil.example/me",
        "/\\evil.example/me",
        "/v1/bookings",
        "/me/../v1/bookings",
        "/me/visits/x?y=1",
        "/me/visits/x#y",
        "/men",
        "me",
        "/me/" + "x" * 300,
    ],
)
def test_anything_else_is_dropped(then: str | None) -> None:
    assert local_page(then) is None


def test_the_email_carries_the_page_only_when_it_is_one_of_the_area() -> None:
    _, onward = message("Clinic", "https://c.example/", "cfl_t", timedelta(minutes=15), "/me/x")
    _, dropped = message("Clinic", "https://c.example", "cfl_t", timedelta(minutes=15), "//e.x")
    assert "https://c.example/sign-in?token=cfl_t&next=/me/x\n" in onward
    assert "https://c.example/sign-in?token=cfl_t\n" in dropped
