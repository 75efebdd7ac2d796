"""The documented pricing rules, worked through on the shipped config/clinic.yaml.

Seed prices: alternative medicine 119 / 79, GAPS 195 / 79, weight loss TBD; 10% multi-service
discount counting distinct services; GAPS starter 459 (initial + 4 follow-ups).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from clinicflow.catalog.domain import Catalog, MultiServiceCount, MultiServiceDiscount
from clinicflow.payments.domain import (
    MULTI_SERVICE,
    Credit,
    PackageLine,
    PromotionPatientLimitReached,
    PromoUsage,
    UnknownPriceItem,
    VisitLine,
    percent_of,
    quote,
)
from clinicflow.payments.domain import promotions as promos

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)

ALT_INITIAL = VisitLine("alternative_medicine", "initial")
ALT_FOLLOWUP = VisitLine("alternative_medicine", "followup")
GAPS_INITIAL = VisitLine("gaps_coaching", "initial")
GAPS_FOLLOWUP = VisitLine("gaps_coaching", "followup")


def _counting(catalog: Catalog, count: MultiServiceCount) -> Catalog:
    rule = MultiServiceDiscount(percent=Decimal(10), count=count)
    payments = dataclasses.replace(catalog.payments, multi_service_discount=rule)
    return dataclasses.replace(catalog, payments=payments)


def _credit(service: str, visit_type: str, remaining: int, expires_at: datetime) -> Credit:
    return Credit(f"p1/{service}", "gaps_starter", service, visit_type, 4, remaining, expires_at)


def test_one_visit_costs_its_catalog_price(catalog: Catalog) -> None:
    priced = quote([GAPS_INITIAL], catalog=catalog, now=NOW)
    assert (priced.total_cents, priced.currency, priced.discounts) == (19500, "USD", ())


def test_gaps_initial_and_alt_med_initial_get_ten_percent_off_to_the_cent(
    catalog: Catalog,
) -> None:
    priced = quote([GAPS_INITIAL, ALT_INITIAL], catalog=catalog, now=NOW)
    (discount,) = priced.discounts
    assert (discount.code, discount.base_cents, discount.amount_cents) == (
        MULTI_SERVICE,
        31400,
        3140,
    )
    assert priced.total_cents == 28260
    # Spread over the lines in proportion, so each visit's refundable amount is known.
    assert [line.total_cents for line in priced.lines] == [17550, 10710]


def test_the_discount_rounds_half_up_to_the_cent(catalog: Catalog) -> None:
    rule = MultiServiceDiscount(percent=Decimal("12.25"))
    odd = dataclasses.replace(
        catalog, payments=dataclasses.replace(catalog.payments, multi_service_discount=rule)
    )
    priced = quote([GAPS_INITIAL, ALT_INITIAL], catalog=odd, now=NOW)
    # 12.25% of 31400 cents is 3846.5 cents: half a cent goes up.
    assert priced.discounts[0].amount_cents == 3847
    assert priced.total_cents == 31400 - 3847


def test_percentages_round_half_up_and_only_half_up() -> None:
    assert percent_of(5, Decimal(10)) == 1  # 0.5 → 1
    assert percent_of(4, Decimal(10)) == 0  # 0.4 → 0
    assert percent_of(25, Decimal(10)) == 3  # 2.5 → 3, where round-half-even would give 2


def test_two_visits_of_one_service_get_no_discount_by_default(catalog: Catalog) -> None:
    priced = quote([ALT_INITIAL, ALT_FOLLOWUP], catalog=catalog, now=NOW)
    assert catalog.payments.multi_service_discount.count is MultiServiceCount.DISTINCT_SERVICES
    assert (priced.discounts, priced.total_cents) == ((), 19800)


def test_counting_items_discounts_two_visits_of_one_service_like_the_seed(
    catalog: Catalog,
) -> None:
    priced = quote(
        [ALT_INITIAL, ALT_FOLLOWUP],
        catalog=_counting(catalog, MultiServiceCount.ITEMS),
        now=NOW,
    )
    assert priced.total_cents == 19800 - 1980


def test_a_tbd_price_makes_the_order_unpriceable_and_says_which_item_and_why(
    catalog: Catalog,
) -> None:
    priced = quote([ALT_INITIAL, VisitLine("weight_loss", "initial")], catalog=catalog, now=NOW)
    assert not priced.priceable
    assert priced.total_cents is None
    assert priced.subtotal_cents is None
    (item,) = priced.unpriceable
    assert item.index == 1
    assert (
        str(item)
        == "line 2 (Weight loss, initial): the price of this visit is not decided yet (TBD)"
    )


def test_an_unknown_service_or_visit_type_is_refused_with_the_known_ones(catalog: Catalog) -> None:
    with pytest.raises(UnknownPriceItem, match="services: alternative_medicine, gaps_coaching"):
        quote([VisitLine("massage", "initial")], catalog=catalog, now=NOW)
    with pytest.raises(UnknownPriceItem, match="its visit types: initial, followup"):
        quote([VisitLine("gaps_coaching", "group")], catalog=catalog, now=NOW)


def test_a_package_costs_its_package_price_and_is_not_discounted_again(catalog: Catalog) -> None:
    priced = quote([PackageLine("gaps_starter"), ALT_INITIAL], catalog=catalog, now=NOW)
    assert priced.discounts == ()
    assert priced.total_cents == 45900 + 11900


def test_a_package_bought_in_the_order_covers_a_visit_in_the_same_order(catalog: Catalog) -> None:
    priced = quote(
        [PackageLine("gaps_starter", purchase_id="order7"), GAPS_INITIAL],
        catalog=catalog,
        now=NOW,
    )
    assert priced.lines[1].credit_id == "order7/0"
    assert priced.total_cents == 45900
    left = {c.id: c.remaining for c in priced.credits_after}
    assert left == {"order7/0": 0, "order7/1": 4}


def test_a_credit_covers_a_visit_which_then_does_not_count_for_the_multi_service_discount(
    catalog: Catalog,
) -> None:
    credit = _credit("gaps_coaching", "followup", 2, NOW + timedelta(days=30))
    priced = quote([GAPS_FOLLOWUP, ALT_INITIAL], catalog=catalog, now=NOW, credits=[credit])
    assert priced.lines[0].credit_id == credit.id
    assert priced.lines[0].subtotal_cents == 0
    assert priced.discounts == ()  # one service paid in money: no multi-service discount
    assert priced.total_cents == 11900
    assert priced.credits_after[0].remaining == 1


def test_an_expired_credit_is_not_used_and_the_visit_is_paid(catalog: Catalog) -> None:
    credit = _credit("gaps_coaching", "followup", 2, NOW)
    priced = quote([GAPS_FOLLOWUP], catalog=catalog, now=NOW, credits=[credit])
    assert (priced.lines[0].credit_id, priced.total_cents) == (None, 7900)


def test_a_credit_expiring_before_the_visit_starts_is_not_used(catalog: Catalog) -> None:
    credit = _credit("gaps_coaching", "followup", 2, NOW + timedelta(days=3))
    later = dataclasses.replace(GAPS_FOLLOWUP, starts_at=NOW + timedelta(days=5))
    priced = quote([later], catalog=catalog, now=NOW, credits=[credit])
    assert priced.lines[0].credit_id is None


def test_a_credit_covers_a_visit_whose_price_is_still_tbd(catalog: Catalog) -> None:
    credit = Credit("p9/0", "wl_pack", "weight_loss", "followup", 3, 3, NOW + timedelta(days=9))
    priced = quote(
        [VisitLine("weight_loss", "followup")], catalog=catalog, now=NOW, credits=[credit]
    )
    assert (priced.priceable, priced.total_cents) == (True, 0)


def test_a_non_stacking_code_gives_the_larger_discount_not_both(catalog: Catalog) -> None:
    welcome = promos.find(catalog.payments.promotions, "welcome15")  # 15%, does not stack
    priced = quote([GAPS_INITIAL, ALT_INITIAL], catalog=catalog, now=NOW, promotion=welcome)
    (discount,) = priced.discounts
    assert (discount.code, discount.amount_cents) == ("WELCOME15", 4710)  # 15% of 314.00
    assert priced.total_cents == 31400 - 4710
    assert priced.promotion_code == "WELCOME15"
    assert "replaced by code WELCOME15" in priced.notes[0]


def test_a_stacking_code_applies_after_the_multi_service_discount(catalog: Catalog) -> None:
    newyear = promos.find(catalog.payments.promotions, "NEWYEAR25")  # $25 off GAPS, stacks
    january = datetime(2027, 1, 10, 18, 0, tzinfo=UTC)
    priced = quote([GAPS_INITIAL, ALT_INITIAL], catalog=catalog, now=january, promotion=newyear)
    assert [(d.code, d.amount_cents) for d in priced.discounts] == [
        (MULTI_SERVICE, 3140),
        ("NEWYEAR25", 2500),
    ]
    assert priced.total_cents == 31400 - 3140 - 2500
    assert [line.discount_cents for line in priced.lines] == [1950 + 2500, 1190]


def test_a_fixed_code_never_takes_more_than_the_eligible_visits_cost(catalog: Catalog) -> None:
    newyear = promos.find(catalog.payments.promotions, "NEWYEAR25")
    cheap = dataclasses.replace(
        newyear, discount=dataclasses.replace(newyear.discount, cents=99999)
    )
    january = datetime(2027, 1, 10, 18, 0, tzinfo=UTC)
    priced = quote([GAPS_FOLLOWUP], catalog=catalog, now=january, promotion=cheap)
    assert (priced.discounts[0].amount_cents, priced.total_cents) == (7900, 0)


def test_a_code_is_checked_even_when_the_order_is_unpriceable(catalog: Catalog) -> None:
    welcome = promos.find(catalog.payments.promotions, "WELCOME15")
    with pytest.raises(PromotionPatientLimitReached):
        quote(
            [VisitLine("weight_loss", "initial")],
            catalog=catalog,
            now=NOW,
            promotion=welcome,
            promo_usage=PromoUsage(total=3, by_patient=1),
        )


def test_hsa_fsa_eligibility_is_marked_per_line(catalog: Catalog) -> None:
    priced = quote([ALT_INITIAL, GAPS_INITIAL], catalog=catalog, now=NOW)
    assert [line.hsa_fsa_eligible for line in priced.lines] == [True, False]
