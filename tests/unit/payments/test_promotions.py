"""Promotion codes: finding them, their validity dates (clinic's local days), usage limits and
eligible services."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicflow.catalog.domain import Catalog, Promotion, Rate
from clinicflow.payments.domain import (
    Credit,
    PromotionExpired,
    PromotionNotApplicable,
    PromotionNotStarted,
    PromotionPatientLimitReached,
    PromotionRejected,
    PromotionUsedUp,
    PromoUsage,
    Quote,
    UnknownPromotionCode,
    VisitLine,
    quote,
)
from clinicflow.payments.domain import promotions as promos

CHICAGO_NOON_JAN_10 = datetime(2027, 1, 10, 18, 0, tzinfo=UTC)
GAPS = VisitLine("gaps_coaching", "followup")
ALT = VisitLine("alternative_medicine", "followup")


Quoting = Callable[..., Quote]


@pytest.fixture
def newyear(catalog: Catalog) -> Promotion:
    return catalog.payments.promotions["NEWYEAR25"]  # 2027-01-01..31, $25 off GAPS, 100 / 1


@pytest.fixture
def in_january(catalog: Catalog, newyear: Promotion) -> Quoting:
    """`quote(lines, …)` at noon in Chicago on 10 January 2027, with NEWYEAR25 entered."""
    return partial(quote, catalog=catalog, now=CHICAGO_NOON_JAN_10, promotion=newyear)


def test_a_code_is_found_in_any_case_and_with_stray_spaces(catalog: Catalog) -> None:
    assert promos.find(catalog.payments.promotions, "  newYear25 ").code == "NEWYEAR25"


def test_an_unknown_code_is_refused_with_what_was_typed(catalog: Catalog) -> None:
    with pytest.raises(UnknownPromotionCode, match="'NEWYEAR26' is not a promotion code"):
        promos.find(catalog.payments.promotions, "NEWYEAR26")


@pytest.mark.parametrize(
    ("now", "error", "detail"),
    [
        # 21:00 on 31 December in Chicago is still 2026 there, though 2027 in UTC.
        (datetime(2027, 1, 1, 3, 0, tzinfo=UTC), PromotionNotStarted, "from 2027-01-01"),
        # 23:00 on 31 January in Chicago: the last day, still valid (checked below).
        # 00:30 on 1 February in Chicago: over.
        (datetime(2027, 2, 1, 6, 30, tzinfo=UTC), PromotionExpired, "ended on 2027-01-31"),
    ],
)
def test_a_code_is_valid_only_on_its_local_days(
    catalog: Catalog,
    newyear: Promotion,
    now: datetime,
    error: type[PromotionRejected],
    detail: str,
) -> None:
    with pytest.raises(error, match=detail):
        quote([GAPS], catalog=catalog, now=now, promotion=newyear)


def test_a_code_works_from_the_start_of_its_first_day_to_the_end_of_its_last(
    catalog: Catalog, newyear: Promotion
) -> None:
    for now in (datetime(2027, 1, 1, 6, 0, tzinfo=UTC), datetime(2027, 2, 1, 5, 59, tzinfo=UTC)):
        assert quote([GAPS], catalog=catalog, now=now, promotion=newyear).total_cents == 7900 - 2500


def test_the_last_allowed_use_passes_and_the_next_is_refused(in_january: Quoting) -> None:
    ok = in_january([GAPS], promo_usage=PromoUsage(total=99))
    assert ok.promotion_code == "NEWYEAR25"
    with pytest.raises(PromotionUsedUp, match="used its 100 times"):
        in_january([GAPS], promo_usage=PromoUsage(total=100))


def test_a_patient_cannot_use_a_once_per_patient_code_twice(in_january: Quoting) -> None:
    with pytest.raises(PromotionPatientLimitReached, match="once per patient"):
        in_january([GAPS], promo_usage=PromoUsage(total=5, by_patient=1))


def test_a_code_for_other_services_is_refused_saying_which_it_covers(in_january: Quoting) -> None:
    with pytest.raises(PromotionNotApplicable, match="NEWYEAR25 applies to gaps_coaching"):
        in_january([ALT])


def test_a_code_does_not_apply_to_a_visit_covered_by_a_package_credit(
    in_january: Quoting,
) -> None:
    credit = Credit(
        "p/1", "gaps_starter", "gaps_coaching", "followup", 4, 4, datetime(2027, 6, 1, tzinfo=UTC)
    )
    with pytest.raises(PromotionNotApplicable, match="package credits do not count"):
        in_january([GAPS], credits=[credit])


def test_a_code_only_discounts_its_eligible_services(in_january: Quoting) -> None:
    # Distinct services → 10% multi-service (15.80), then $25 off the GAPS visit's 71.10.
    priced = in_january([GAPS, ALT])
    assert [line.discount_cents for line in priced.lines] == [790 + 2500, 790]


def test_a_code_worth_nothing_on_this_order_is_not_used(
    in_january: Quoting, newyear: Promotion
) -> None:
    nothing = dataclasses.replace(newyear, discount=Rate(percent=Decimal(0)))
    priced = in_january([GAPS], promotion=nothing)
    assert priced.promotion_code is None
    assert priced.notes == ("code NEWYEAR25 was not applied: it takes nothing off this order",)


def test_usage_counts_cannot_be_impossible() -> None:
    with pytest.raises(ValueError, match="impossible"):
        PromoUsage(total=1, by_patient=2)


START = date(2027, 1, 1)
LIMITS = st.one_of(st.none(), st.integers(1, 5))


@settings(max_examples=300, deadline=None)
@given(
    length=st.one_of(st.none(), st.integers(0, 40)),
    day=st.integers(-10, 60),
    max_uses=LIMITS,
    per_patient=LIMITS,
    total=st.integers(0, 7),
    mine=st.integers(0, 7),
)
def test_a_code_is_refused_for_the_first_rule_it_breaks_and_only_then(
    length: int | None,
    day: int,
    max_uses: int | None,
    per_patient: int | None,
    total: int,
    mine: int,
) -> None:
    mine = min(mine, total)
    promotion = Promotion(
        code="X",
        discount=Rate(percent=Decimal(10)),
        starts=START,
        ends=None if length is None else START + timedelta(days=length),
        max_uses=max_uses,
        max_uses_per_patient=per_patient,
    )
    today = START + timedelta(days=day)
    expected: type[PromotionRejected] | None = None
    if today < START:
        expected = PromotionNotStarted
    elif promotion.ends is not None and today > promotion.ends:
        expected = PromotionExpired
    elif max_uses is not None and total >= max_uses:
        expected = PromotionUsedUp
    elif per_patient is not None and mine >= per_patient:
        expected = PromotionPatientLimitReached
    usage = PromoUsage(total=total, by_patient=mine)
    if expected is None:
        promos.check(promotion, usage, today)
    else:
        with pytest.raises(expected):
            promos.check(promotion, usage, today)


# --- eligibility as configured: visit types and new patients --------------------------------

ALT_INITIAL = VisitLine("alternative_medicine", "initial")
NOVEMBER = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


@pytest.fixture
def welcome(catalog: Catalog) -> Promotion:
    return catalog.payments.promotions["WELCOME15"]  # initial visits, new patients only


@pytest.fixture
def welcomed(catalog: Catalog, welcome: Promotion) -> Quoting:
    """`quote(lines, returning_patient=…)` in November 2026, with WELCOME15 entered."""
    return partial(quote, catalog=catalog, now=NOVEMBER, promotion=welcome)


def test_welcome15_says_what_its_rules_say(welcome: Promotion) -> None:
    assert welcome.description == "15% off a first visit for new patients"
    assert (welcome.visit_types, welcome.new_patients_only) == (frozenset({"initial"}), True)


def test_a_new_patients_first_visit_is_discounted(welcomed: Quoting) -> None:
    priced = welcomed([ALT_INITIAL], returning_patient=False)

    assert [(d.code, d.amount_cents) for d in priced.discounts] == [("WELCOME15", 1785)]
    assert priced.notes == ()


@pytest.mark.parametrize(
    ("lines", "returning", "note"),
    [
        ([ALT_INITIAL], True, "it is for new patients only"),
        ([ALT], True, "it is for new patients only"),
        ([ALT], False, "it is for initial visits only"),
        ([ALT], None, "it is for initial visits only"),
    ],
    ids=["returning-initial", "returning-follow-up", "new-follow-up", "unknown-follow-up"],
)
def test_an_ineligible_visit_or_patient_gets_no_discount_and_the_quote_says_why(
    welcomed: Quoting, lines: list[VisitLine], returning: bool | None, note: str
) -> None:
    priced = welcomed(lines, returning_patient=returning)

    assert priced.discounts == ()
    assert priced.promotion_code is None  # no use of the code is recorded
    (why,) = priced.notes
    assert why.startswith("code WELCOME15 was not applied: ")
    assert note in why


def test_only_the_eligible_visit_type_is_discounted_in_a_mixed_order(welcomed: Quoting) -> None:
    priced = welcomed([ALT_INITIAL, ALT], returning_patient=False)

    assert [line.discount_cents for line in priced.lines] == [1785, 0]
    assert priced.notes == (
        "code WELCOME15 is for initial visits only: the others are not discounted",
    )


@given(returning=st.sampled_from([True, False, None]), initial=st.booleans())
@settings(max_examples=30)
def test_welcome15_applies_exactly_when_its_configured_rules_hold(
    catalog: Catalog, returning: bool | None, initial: bool
) -> None:
    welcome = catalog.payments.promotions["WELCOME15"]
    line = ALT_INITIAL if initial else ALT
    priced = quote(
        [line], catalog=catalog, now=NOVEMBER, promotion=welcome, returning_patient=returning
    )

    assert (priced.promotion_code == "WELCOME15") == (initial and returning is not True)
