"""The booking site's first page, over HTTP: what each service costs and lasts, the TBD one
not yet bookable with the reason in plain words, the unlaunched ones coming soon with their
waitlist form."""

from __future__ import annotations

import re

import httpx


def _section(html: str, key: str) -> str:
    found = re.search(rf'<section[^>]*aria-labelledby="svc-{key}".*?</section>', html, re.S)
    assert found is not None, key
    return found.group(0)


async def test_the_services_show_price_length_and_what_is_not_bookable_yet(
    client: httpx.AsyncClient,
) -> None:
    html = (await client.get("/")).text
    alt = _section(html, "alternative_medicine")
    assert "Initial visit, 20 min" in alt
    assert "$119.00" in alt
    assert "Follow-up visit, 15 min" in alt
    assert "$79.00" in alt
    gaps = _section(html, "gaps_coaching")
    assert "Initial visit, 60 min" in gaps
    assert "$195.00" in gaps
    weight = _section(html, "weight_loss")
    assert "Not yet bookable." in weight
    assert "visit lengths and prices are still being decided" in weight
    assert "href=" not in weight  # nothing to pick
    for key in ("counseling", "equine_therapy"):
        soon = _section(html, key)
        assert "Coming soon" in soon
        assert 'action="/waitlist/join"' in soon
        assert f'name="service" value="{key}"' in soon
