"""Package credits: granted on purchase, consumed earliest-expiry first, returned, expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicflow.catalog.domain import PackageItem, PackageOffer
from clinicflow.payments.domain import (
    Credit,
    CreditNotReturnable,
    CreditUnavailable,
    UnknownCredit,
    packages,
)

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
STARTER = PackageOffer(
    key="gaps_starter",
    name="GAPS starter",
    price_cents=45900,
    valid_days=180,
    items=(
        PackageItem("gaps_coaching", "initial", 1),
        PackageItem("gaps_coaching", "followup", 4),
    ),
)
FOLLOWUPS = PackageOffer(
    "alt_med_followups", "5 follow-ups", 35500, 365, (PackageItem("gaps_coaching", "followup", 5),)
)


def _remaining(credits: tuple[Credit, ...]) -> dict[str, int]:
    return {c.id: c.remaining for c in credits}


def test_a_purchase_grants_one_credit_per_item_expiring_valid_days_later() -> None:
    credits = packages.grant(STARTER, purchase_id="ord1", purchased_at=NOW)
    assert [(c.id, c.service, c.visit_type, c.granted, c.remaining) for c in credits] == [
        ("ord1/0", "gaps_coaching", "initial", 1, 1),
        ("ord1/1", "gaps_coaching", "followup", 4, 4),
    ]
    assert {c.expires_at for c in credits} == {NOW + timedelta(days=180)}


def test_the_earliest_expiring_credit_is_used_first() -> None:
    starter = packages.grant(STARTER, purchase_id="a", purchased_at=NOW)  # expires in 180 d
    older = packages.grant(FOLLOWUPS, purchase_id="b", purchased_at=NOW - timedelta(days=300))
    credits, used = packages.consume_for(
        (*starter, *older), "gaps_coaching", "followup", NOW
    )  # b expires in 65 d
    assert used.id == "b/0"
    assert _remaining(credits) == {"a/0": 1, "a/1": 4, "b/0": 4}


def test_a_credit_is_unusable_from_the_moment_it_expires() -> None:
    credits = packages.grant(FOLLOWUPS, purchase_id="b", purchased_at=NOW)
    expiry = credits[0].expires_at
    assert packages.pick(credits, "gaps_coaching", "followup", expiry - timedelta(seconds=1))
    assert packages.pick(credits, "gaps_coaching", "followup", expiry) is None
    with pytest.raises(CreditUnavailable, match="expired"):
        packages.consume(credits, "b/0", expiry)
    assert packages.balance(credits, expiry) == {}


def test_an_empty_credit_cannot_be_consumed() -> None:
    (credit,) = packages.grant(
        PackageOffer("one", "One", 100, 10, (PackageItem("s", "v", 1),)),
        purchase_id="x",
        purchased_at=NOW,
    )
    credits = packages.consume((credit,), "x/0", NOW)
    with pytest.raises(CreditUnavailable, match="no visits left"):
        packages.consume(credits, "x/0", NOW)
    with pytest.raises(CreditUnavailable, match="no unexpired package credit"):
        packages.consume_for(credits, "s", "v", NOW)


def test_a_returned_visit_goes_back_to_its_credit_without_extending_it() -> None:
    credits = packages.grant(STARTER, purchase_id="a", purchased_at=NOW)
    used = packages.consume(credits, "a/1", NOW)
    back = packages.return_visit(used, "a/1", NOW + timedelta(days=1))
    assert back == credits


def test_nothing_is_returned_to_a_full_or_expired_credit_or_an_unknown_one() -> None:
    credits = packages.grant(STARTER, purchase_id="a", purchased_at=NOW)
    with pytest.raises(CreditNotReturnable, match="no used visit"):
        packages.return_visit(credits, "a/0", NOW)
    used = packages.consume(credits, "a/0", NOW)
    with pytest.raises(CreditNotReturnable, match="expired"):
        packages.return_visit(used, "a/0", NOW + timedelta(days=180))
    with pytest.raises(UnknownCredit):
        packages.return_visit(used, "zzz/0", NOW)


def test_a_credit_cannot_be_built_below_zero_or_above_what_was_bought() -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.2"):
        Credit("x/0", "p", "s", "v", 2, -1, NOW)
    with pytest.raises(ValueError, match=r"outside 0\.\.2"):
        Credit("x/0", "p", "s", "v", 2, 3, NOW)


# A random history of purchases, bookings and cancellations over a year.
OPS = st.lists(
    st.tuples(
        st.sampled_from(["buy_starter", "buy_followups", "book", "cancel"]),
        st.integers(0, 400),  # day of the operation
        st.sampled_from(["initial", "followup"]),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_credits_never_go_below_zero_nor_above_what_was_bought_and_expire(
    ops: list[tuple[str, int, str]],
) -> None:
    credits: tuple[Credit, ...] = ()
    taken: list[str] = []  # credit ids of booked visits, oldest first
    forfeited = 0  # cancelled after their credit expired: nothing to give back
    for n, (op, day, visit_type) in enumerate(sorted(ops, key=lambda o: o[1])):
        at = NOW + timedelta(days=day)
        if op.startswith("buy"):
            offer = STARTER if op == "buy_starter" else FOLLOWUPS
            credits += packages.grant(offer, purchase_id=f"p{n}", purchased_at=at)
        elif op == "book":
            usable = [
                c for c in credits if c.covers("gaps_coaching", visit_type) and c.usable_at(at)
            ]
            try:
                credits, used = packages.consume_for(credits, "gaps_coaching", visit_type, at)
            except CreditUnavailable:
                assert not usable
                continue
            assert used.expires_at == min(c.expires_at for c in usable)
            assert at < used.expires_at
            taken.append(used.id)
        elif taken:
            credit_id = taken.pop()
            try:
                credits = packages.return_visit(credits, credit_id, at)
            except CreditNotReturnable:
                assert at >= next(c for c in credits if c.id == credit_id).expires_at
                forfeited += 1
        for credit in credits:
            assert 0 <= credit.remaining <= credit.granted
        live = sum(c.remaining for c in credits if at < c.expires_at)
        assert sum(packages.balance(credits, at).values()) == live
    # Consumed minus returned is exactly what the visits still booked (or forfeited) hold.
    assert sum(c.granted - c.remaining for c in credits) == len(taken) + forfeited
    # Every credit has expired a year after the last purchase.
    assert packages.balance(credits, NOW + timedelta(days=400 + 366)) == {}
