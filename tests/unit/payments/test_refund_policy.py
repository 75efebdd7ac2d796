"""Refunds from the cancellation policy: in time, late, no-show, staff override, credits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicflow.catalog.domain import CancellationPolicy, Rate
from clinicflow.payments.domain import (
    InvalidRefundOverride,
    RefundRule,
    StaffOverride,
    cancellation_fee,
    refund_for,
)
from clinicflow.payments.domain.refunds import goodwill

START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
POLICY = CancellationPolicy()  # 24 h, late 50%, no-show 100%, credit kept when late
HOUR = timedelta(hours=1)


def test_cancelling_24_hours_or_more_ahead_refunds_everything_and_returns_the_credit() -> None:
    exactly = refund_for(11900, starts_at=START, cancelled_at=START - 24 * HOUR, policy=POLICY)
    assert (exactly.refund_cents, exactly.fee_cents, exactly.rule) == (11900, 0, RefundRule.IN_TIME)
    assert exactly.reason == "cancelled 24 h before the start, at least 24 h ahead: full refund"
    credit = refund_for(
        0, starts_at=START, cancelled_at=START - 30 * HOUR, policy=POLICY, paid_with_credit=True
    )
    assert credit.credit_returned


def test_cancelling_later_keeps_the_late_fee_and_the_credit() -> None:
    late = refund_for(
        11900, starts_at=START, cancelled_at=START - 24 * HOUR + timedelta(minutes=1), policy=POLICY
    )
    assert (late.refund_cents, late.fee_cents, late.rule) == (
        5950,
        5950,
        RefundRule.LATE_CANCELLATION,
    )
    assert (
        late.reason
        == "cancelled 23 h 59 min before the start, less than 24 h ahead: fee of 50% ($59.50)"
    )
    credit = refund_for(
        0, starts_at=START, cancelled_at=START - HOUR, policy=POLICY, paid_with_credit=True
    )
    assert not credit.credit_returned
    assert credit.reason.endswith("; the package credit is used")


def test_a_clinic_may_return_credits_on_late_cancellations() -> None:
    lenient = CancellationPolicy(return_credit_on_late_cancel=True)
    decision = refund_for(
        0, starts_at=START, cancelled_at=START - HOUR, policy=lenient, paid_with_credit=True
    )
    assert decision.credit_returned


def test_a_no_show_keeps_the_no_show_fee_and_the_credit() -> None:
    fixed = CancellationPolicy(no_show_fee=Rate(cents=4000), return_credit_on_late_cancel=True)
    decision = refund_for(
        11900, starts_at=START, cancelled_at=START + HOUR, policy=fixed, no_show=True
    )
    assert (decision.refund_cents, decision.fee_cents, decision.rule) == (
        7900,
        4000,
        RefundRule.NO_SHOW,
    )
    credit = refund_for(
        0, starts_at=START, cancelled_at=START, policy=fixed, no_show=True, paid_with_credit=True
    )
    assert not credit.credit_returned


def test_a_fixed_fee_never_exceeds_what_was_paid() -> None:
    fixed = CancellationPolicy(late_cancel_fee=Rate(cents=5000))
    decision = refund_for(3000, starts_at=START, cancelled_at=START - HOUR, policy=fixed)
    assert (decision.refund_cents, decision.fee_cents) == (0, 3000)


def test_a_fee_for_a_visit_not_paid_ahead_comes_from_its_price() -> None:
    fee = cancellation_fee(7900, starts_at=START, cancelled_at=START + HOUR, policy=POLICY)
    assert (fee.rule, fee.fee_cents) == (RefundRule.LATE_CANCELLATION, 3950)
    assert "1 h after the start" in fee.reason


def test_staff_can_override_the_amount_with_a_reason_and_the_policy_is_kept_on_record() -> None:
    decision = refund_for(
        11900,
        starts_at=START,
        cancelled_at=START - HOUR,
        policy=POLICY,
        override=StaffOverride(11900, "  car accident, documented  "),
    )
    assert (decision.refund_cents, decision.fee_cents) == (11900, 0)
    assert (decision.rule, decision.policy_rule) == (
        RefundRule.STAFF_OVERRIDE,
        RefundRule.LATE_CANCELLATION,
    )
    assert decision.reason.startswith(
        "staff override: car accident, documented (policy: cancelled 1 h"
    )


def test_staff_can_return_a_credit_the_policy_would_keep() -> None:
    decision = refund_for(
        0,
        starts_at=START,
        cancelled_at=START + HOUR,
        policy=POLICY,
        no_show=True,
        paid_with_credit=True,
        override=StaffOverride(0, "clinic ran late", return_credit=True),
    )
    assert decision.credit_returned


@pytest.mark.parametrize(
    ("override", "words"),
    [
        (StaffOverride(5000, "   "), "needs a reason"),
        (StaffOverride(-1, "goodwill"), "between 0 and the 11900 cents paid, not -1"),
        (StaffOverride(11901, "goodwill"), "between 0 and the 11900 cents paid, not 11901"),
        (StaffOverride(100, "goodwill", return_credit=True), "not paid with a package credit"),
    ],
)
def test_an_override_out_of_bounds_or_without_a_reason_is_refused(
    override: StaffOverride, words: str
) -> None:
    with pytest.raises(InvalidRefundOverride, match=words):
        refund_for(
            11900, starts_at=START, cancelled_at=START - HOUR, policy=POLICY, override=override
        )


RATES = st.one_of(
    st.builds(Rate, percent=st.decimals(0, 100, places=2, allow_nan=False, allow_infinity=False)),
    st.builds(Rate, cents=st.integers(0, 50_000)),
)
POLICIES = st.builds(
    CancellationPolicy,
    full_refund_hours=st.integers(0, 72),
    late_cancel_fee=RATES,
    no_show_fee=RATES,
    return_credit_on_late_cancel=st.booleans(),
)
NOTICE = st.integers(-48 * 60, 96 * 60).map(lambda m: timedelta(minutes=m))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**7), NOTICE, POLICIES, st.booleans(), st.booleans())
def test_refund_and_fee_always_add_up_to_what_was_paid_and_neither_is_negative(
    paid: int, notice: timedelta, policy: CancellationPolicy, no_show: bool, credit: bool
) -> None:
    decision = refund_for(
        paid,
        starts_at=START,
        cancelled_at=START - notice,
        policy=policy,
        no_show=no_show,
        paid_with_credit=credit,
    )
    assert 0 <= decision.refund_cents <= paid
    assert decision.refund_cents + decision.fee_cents == paid
    in_time = not no_show and notice >= timedelta(hours=policy.full_refund_hours)
    assert (decision.rule is RefundRule.IN_TIME) == in_time
    if in_time:
        assert decision.refund_cents == paid
    late_back = (
        decision.rule is RefundRule.LATE_CANCELLATION and policy.return_credit_on_late_cancel
    )
    assert decision.credit_returned == (credit and (in_time or late_back))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**7), NOTICE, NOTICE, POLICIES)
def test_cancelling_earlier_never_refunds_less(
    paid: int, first: timedelta, second: timedelta, policy: CancellationPolicy
) -> None:
    early, late = max(first, second), min(first, second)
    refunds = [
        refund_for(paid, starts_at=START, cancelled_at=START - n, policy=policy).refund_cents
        for n in (early, late)
    ]
    assert refunds[0] >= refunds[1]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**6), st.integers(-10, 10**6 + 10), NOTICE, POLICIES)
def test_an_override_is_taken_exactly_when_within_0_and_what_was_paid(
    paid: int, amount: int, notice: timedelta, policy: CancellationPolicy
) -> None:
    override = StaffOverride(amount, "staff decision")
    if 0 <= amount <= paid:
        decision = refund_for(
            paid, starts_at=START, cancelled_at=START - notice, policy=policy, override=override
        )
        assert (decision.refund_cents, decision.fee_cents) == (amount, paid - amount)
    else:
        with pytest.raises(InvalidRefundOverride):
            refund_for(
                paid, starts_at=START, cancelled_at=START - notice, policy=policy, override=override
            )


def test_percent_fees_round_half_up() -> None:
    odd = CancellationPolicy(late_cancel_fee=Rate(percent=Decimal(50)))
    fee = cancellation_fee(7901, starts_at=START, cancelled_at=START, policy=odd)
    assert fee.fee_cents == 3951  # 39.505 → 39.51


def test_goodwill_on_a_visit_not_cancelled_keeps_no_fee_and_names_no_cancellation() -> None:
    decision = goodwill(11900, StaffOverride(3000, " waited an hour "))

    assert (decision.refund_cents, decision.fee_cents) == (3000, 0)
    assert decision.rule is RefundRule.STAFF_OVERRIDE
    assert decision.reason == "staff goodwill: waited an hour (the visit was not cancelled)"
    assert not decision.credit_returned


@pytest.mark.parametrize(
    ("override", "words"),
    [
        (StaffOverride(3000, " "), "needs a reason"),
        (StaffOverride(11901, "goodwill"), "between 0 and the 11900 cents paid, not 11901"),
        (StaffOverride(0, "goodwill", return_credit=True), "not paid with a package credit"),
    ],
)
def test_goodwill_is_bounded_like_any_override(override: StaffOverride, words: str) -> None:
    with pytest.raises(InvalidRefundOverride, match=words):
        goodwill(11900, override)
