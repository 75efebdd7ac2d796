"""Properties of `quote` over generated catalogs, orders, credits and promotion codes."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clinicflow.catalog.domain import (
    Catalog,
    Clinic,
    MultiServiceCount,
    MultiServiceDiscount,
    PaymentsConfig,
    Promotion,
    Rate,
    Service,
    VisitType,
)
from clinicflow.payments.domain import (
    MULTI_SERVICE,
    Credit,
    PromotionNotApplicable,
    Quote,
    VisitLine,
    percent_of,
    qualifies,
    quote,
)

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
SERVICES = ("s0", "s1", "s2")
VISIT_TYPES = ("initial", "followup")
modest = settings(max_examples=300, deadline=None)

PRICES = st.one_of(st.integers(0, 250_000), st.integers(1, 99), st.none())
PERCENTS = st.decimals(0, 100, places=2, allow_nan=False, allow_infinity=False)
RULES = st.builds(MultiServiceDiscount, PERCENTS, st.sampled_from(MultiServiceCount))
LINES = st.lists(
    st.builds(
        VisitLine,
        st.sampled_from(SERVICES),
        st.sampled_from(VISIT_TYPES),
        use_credit=st.booleans(),
    ),
    max_size=8,
)


@st.composite
def catalogs(draw: st.DrawFn, tbd: bool = True) -> Catalog:
    prices = PRICES if tbd else st.integers(0, 250_000)
    services = {
        key: Service(
            key=key,
            name=key,
            active=True,
            waitlist=False,
            launch_date=None,
            visit_types=MappingProxyType(
                {vt: VisitType(vt, (30,), draw(prices)) for vt in VISIT_TYPES}
            ),
            calendars=("doc",),
        )
        for key in SERVICES
    }
    payments = PaymentsConfig(multi_service_discount=draw(RULES))
    clinic = Clinic("Test clinic", "America/Chicago", "78701")
    return Catalog(clinic, MappingProxyType(services), MappingProxyType({}), payments=payments)


@st.composite
def wallets(draw: st.DrawFn) -> list[Credit]:
    out: list[Credit] = []
    for i in range(draw(st.integers(0, 4))):
        granted = draw(st.integers(1, 3))
        out.append(
            Credit(
                id=f"p{i}/0",
                package="pack",
                service=draw(st.sampled_from(SERVICES)),
                visit_type=draw(st.sampled_from(VISIT_TYPES)),
                granted=granted,
                remaining=draw(st.integers(0, granted)),
                expires_at=NOW + timedelta(hours=draw(st.integers(-48, 48))),
            )
        )
    return out


@st.composite
def promotions(draw: st.DrawFn) -> Promotion:
    """Codes valid today with room left; limits and dates have their own tests."""
    rate = draw(
        st.one_of(
            st.builds(Rate, percent=PERCENTS),
            st.builds(Rate, cents=st.integers(0, 300_000)),
        )
    )
    services = draw(st.one_of(st.none(), st.frozensets(st.sampled_from(SERVICES), min_size=1)))
    return Promotion(
        code="CODE",
        discount=rate,
        starts=date(2026, 1, 1),
        ends=None,
        services=services,
        stacks_with_multi_service=draw(st.booleans()),
    )


def _half_up(cents: int, percent: Decimal) -> int:
    return math.floor(Fraction(cents) * Fraction(percent) / 100 + Fraction(1, 2))


def _paid(priced: Quote) -> list[tuple[str, int]]:
    return [
        (q.line.service, q.subtotal_cents)
        for q in priced.lines
        if isinstance(q.line, VisitLine) and q.credit_id is None
    ]


def _quote_or_none(
    lines: list[VisitLine], catalog: Catalog, credits: list[Credit], promo: Promotion | None
) -> Quote | None:
    try:
        return quote(lines, catalog=catalog, now=NOW, credits=credits, promotion=promo)
    except PromotionNotApplicable:
        return None


@modest
@given(catalogs(tbd=False), LINES, wallets(), st.one_of(st.none(), promotions()))
def test_totals_are_never_negative_and_discounts_stay_within_what_they_apply_to(
    catalog: Catalog, lines: list[VisitLine], credits: list[Credit], promo: Promotion | None
) -> None:
    priced = _quote_or_none(lines, catalog, credits, promo)
    assume(priced is not None and priced.priceable)
    assert priced is not None
    assert priced.total_cents is not None
    assert priced.total_cents >= 0
    assert priced.total_cents == sum(line.total_cents for line in priced.lines)
    assert all(0 <= line.total_cents <= line.subtotal_cents for line in priced.lines)
    for discount in priced.discounts:
        assert 0 <= discount.amount_cents <= discount.base_cents
        assert sum(cents for _, cents in discount.shares) == discount.amount_cents
    assert priced.discount_cents <= (priced.subtotal_cents or 0)


@modest
@given(catalogs(), LINES, wallets())
def test_an_order_is_unpriceable_exactly_when_a_paid_visit_has_a_tbd_price(
    catalog: Catalog, lines: list[VisitLine], credits: list[Credit]
) -> None:
    priced = quote(lines, catalog=catalog, now=NOW, credits=credits)
    tbd = {
        q.index
        for q in priced.lines
        if q.credit_id is None and q.unit_cents is None and isinstance(q.line, VisitLine)
    }
    assert {u.index for u in priced.unpriceable} == tbd
    assert (priced.total_cents is None) == bool(tbd)


@modest
@given(catalogs(tbd=False), LINES, wallets())
def test_the_multi_service_discount_follows_the_configured_count_exactly(
    catalog: Catalog, lines: list[VisitLine], credits: list[Credit]
) -> None:
    rule = catalog.payments.multi_service_discount
    priced = quote(lines, catalog=catalog, now=NOW, credits=credits)
    paid = _paid(priced)
    services = [service for service, _ in paid]
    distinct = rule.count is MultiServiceCount.DISTINCT_SERVICES
    counted = len(set(services)) if distinct else len(services)
    assert qualifies(services, rule.count) == (counted > 1)
    expected = rule.percent > 0 and counted > 1
    multi = [d for d in priced.discounts if d.code == MULTI_SERVICE]
    assert bool(multi) == expected
    if multi:
        base = sum(cents for _, cents in paid)
        assert (multi[0].base_cents, multi[0].amount_cents) == (base, _half_up(base, rule.percent))


@modest
@given(catalogs(tbd=False), LINES, wallets())
def test_credits_cover_visits_first_and_are_never_overdrawn(
    catalog: Catalog, lines: list[VisitLine], credits: list[Credit]
) -> None:
    priced = quote(lines, catalog=catalog, now=NOW, credits=credits)
    before = {c.id: c for c in credits}
    used = [q for q in priced.lines if q.credit_id is not None]
    consumed = sum(c.remaining for c in credits) - sum(c.remaining for c in priced.credits_after)
    assert consumed == len(used)
    for q in used:
        credit = before[q.credit_id or ""]
        assert isinstance(q.line, VisitLine)
        assert credit.expires_at > NOW
        assert credit.covers(q.line.service, q.line.visit_type)
    for q in priced.lines:
        line = q.line
        assert isinstance(line, VisitLine)
        if q.credit_id is None and line.use_credit:
            assert not any(
                c.covers(line.service, line.visit_type) and c.usable_at(NOW)
                for c in priced.credits_after
            )


def _without_multi_service(catalog: Catalog) -> Catalog:
    rule = MultiServiceDiscount(percent=Decimal(0))
    return dataclasses.replace(
        catalog, payments=dataclasses.replace(catalog.payments, multi_service_discount=rule)
    )


@modest
@given(catalogs(tbd=False), LINES, promotions())
def test_a_code_stacks_or_gives_the_larger_of_the_two_discounts_as_configured(
    catalog: Catalog, lines: list[VisitLine], promo: Promotion
) -> None:
    priced = _quote_or_none(lines, catalog, [], promo)
    assume(priced is not None)
    assert priced is not None
    multi = quote(lines, catalog=catalog, now=NOW).discount_cents
    code = quote(
        lines, catalog=_without_multi_service(catalog), now=NOW, promotion=promo
    ).discount_cents
    if promo.stacks_with_multi_service:
        # The code applies to what the multi-service discount left, so it can only be smaller.
        assert multi <= priced.discount_cents <= multi + code
    else:
        assert priced.discount_cents == max(multi, code)
        assert len(priced.discounts) <= 1  # never both; none when neither takes anything off
        assert (priced.promotion_code is None) == (code <= multi)


@modest
@given(st.integers(0, 10**9), PERCENTS)
def test_percentages_round_half_up_to_the_cent(cents: int, percent: Decimal) -> None:
    assert percent_of(cents, percent) == _half_up(cents, percent)
    assert 0 <= percent_of(cents, percent) <= cents
