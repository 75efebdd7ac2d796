"""The pure rules behind the payments use cases: who may do what, an order's status only
moving forward whatever order the gateway's reports come in, reconciliation's differences,
and the shape of billing codes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clinicflow.payments.domain import codes
from clinicflow.payments.domain.access import Need, in_scope, role_may
from clinicflow.payments.domain.orders import SETTLED, after_refund, next_status
from clinicflow.payments.domain.reconcile import Booked, Seen, compare
from clinicflow.shared.actor import ANONYMOUS, SYSTEM, Actor, Role

REPORTS = ["succeeded", "processing", "requires_capture", "requires_action", "failed", "canceled"]
RANK = {"open": 0, "pending": 1, "failed": 1, "canceled": 2, "paid": 3}


def user(role: Role) -> Actor:
    return Actor(kind="user", id=f"u-{role}", role=role)


def patient(patient_id: str) -> Actor:
    return Actor(
        kind="patient", id=f"patient:{patient_id}", role=Role.PATIENT, patient_id=patient_id
    )


def test_a_patient_reaches_only_their_own_payments() -> None:
    me = patient("p1")

    assert in_scope(me, Need.READ, "p1")
    assert in_scope(me, Need.PAY, "p1")
    assert not in_scope(me, Need.READ, "p2")
    assert not role_may(me, Need.REFUND)
    assert not role_may(me, Need.IN_CLINIC)


def test_analysts_see_revenue_and_nothing_of_a_patient() -> None:
    analyst = user(Role.ANALYST)

    assert role_may(analyst, Need.REVENUE)
    assert [n for n in Need if role_may(analyst, n)] == [Need.QUOTE, Need.REVENUE]


def test_billing_refunds_but_does_not_take_cash_and_clients_only_quote() -> None:
    client = Actor(kind="client", id="k", role=Role.CLIENT, scopes=frozenset({"bookings:write"}))

    assert role_may(user(Role.BILLING), Need.REFUND)
    assert not role_may(user(Role.BILLING), Need.IN_CLINIC)
    assert role_may(user(Role.FRONT_DESK), Need.IN_CLINIC)
    assert [n for n in Need if role_may(client, n)] == [Need.QUOTE]
    assert [n for n in Need if role_may(ANONYMOUS, n)] == [Need.QUOTE]
    assert all(role_may(SYSTEM, n) for n in Need)


@given(st.lists(st.sampled_from(REPORTS), max_size=12))
def test_an_order_only_moves_forward_and_once_paid_stays_paid(reports: list[str]) -> None:
    status = "open"
    for report in reports:
        moved = next_status(status, report)
        if moved is not None:
            assert RANK[moved] >= RANK[status] or (status, moved) == ("failed", "canceled")
            status = moved
    if "succeeded" in reports:
        assert status == "paid"
    assert status in SETTLED or "succeeded" not in reports


@given(st.integers(1, 10**6), st.integers(0, 10**6))
def test_refunds_decide_partially_or_fully_refunded(total: int, refunded: int) -> None:
    status = after_refund(total, refunded)

    assert status == (
        "paid" if refunded == 0 else "refunded" if refunded >= total else "partially_refunded"
    )


def test_reconcile_names_each_kind_of_difference() -> None:
    booked = [
        Booked("stripe", "pi_same", 1000, 200),
        Booked("stripe", "pi_amount", 1000, 0),
        Booked("stripe", "pi_refund", 1000, 0),
        Booked("stripe", "pi_gone", 500, 0),
    ]
    seen = [
        Seen("stripe", "pi_same", 1000, 200, "succeeded"),
        Seen("stripe", "pi_amount", 900, 0, "succeeded"),
        Seen("stripe", "pi_refund", 1000, 300, "succeeded"),
        Seen("stripe", "pi_unknown", 700, 0, "succeeded"),
        Seen("stripe", "pi_never_paid", 0, 0, "requires_action"),
    ]

    found = [(d.kind, d.provider_id) for d in compare(booked, seen)]

    assert found == [
        ("amount_mismatch", "pi_amount"),
        ("missing_there", "pi_gone"),
        ("refund_mismatch", "pi_refund"),
        ("missing_here", "pi_unknown"),
    ]


def test_billing_codes_are_checked_for_their_shape_only() -> None:
    assert codes.bad_cpt(["99203", "0001F", "G0447", " 99213 "]) == []
    assert codes.bad_cpt(["9920", "ABCDE"]) == ["9920", "ABCDE"]
    assert codes.bad_icd10(["E66.9", "z71.3", "F41"]) == []
    assert codes.bad_icd10(["U07.1"]) == []
    assert codes.bad_icd10(["66.9", "E6", "E66.12345"]) == ["66.9", "E6", "E66.12345"]
