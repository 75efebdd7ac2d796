"""The staff console's patient search and record (`/staff/patients`) and a visit's payment
with its refunds (`/staff/payments`), each read audited as the API audits it."""

from __future__ import annotations

import secrets

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, field_validator

from clinicflow.patients import InvalidContact, normalize_email, normalize_phone
from clinicflow.patients.api import PatientReaderDep
from clinicflow.patients.views import PatientView
from clinicflow.payments.orders.api import OrdersDep
from clinicflow.payments.refunds.api import RefundsDep
from clinicflow.payments.refunds.commands import RefundRequest
from clinicflow.shared.actor import Actor
from clinicflow.shared.errors import DomainError, Forbidden, NotFound, Unauthenticated
from clinicflow.shared.numerals import is_decimal
from clinicflow.web.forms import Posted, validated
from clinicflow.web.pages import Frame, FrameDep, page_router
from clinicflow.web.security import WebKeysDep
from clinicflow.web.staff_console import (
    REFUNDABLE,
    Can,
    _full_name,
    _given,
    _refused,
    _render,
    _sentence,
    _staff,
    _staff_form,
)

router = page_router()


# -- patients ---------------------------------------------------------------------------------


@router.get("/staff/patients")
async def patient_search(page: FrameDep, reader: PatientReaderDep, q: str = "") -> Response:
    actor = _staff(page)
    posted = Posted({"q": q[:254]})
    found: list[PatientView] | None = None
    try:
        if not Can.of(actor).search:
            raise Forbidden("your role may not search patient records")
        if q.strip():
            email, phone = _contact(q.strip())
            found = await reader.search(actor, email=email, phone=phone)
    except InvalidContact as exc:
        posted.error("q", _sentence(str(exc)))
    except DomainError as exc:
        return _refused(page, exc)
    context = {"posted": posted, "found": found, "section": "patients"}
    return _render(page, "patients.html", context, status=422 if posted.errors else 200)


def _contact(q: str) -> tuple[str | None, str | None]:
    """An email when it has an @, else a phone number; normalized as the API does."""
    if "@" in q:
        return normalize_email(q), None
    return None, normalize_phone(q)


@router.get("/staff/patients/{patient_id}")
async def patient_record(page: FrameDep, reader: PatientReaderDep, patient_id: str) -> Response:
    actor = _staff(page)
    try:
        record = await reader.record(actor, patient_id)
    except DomainError as exc:
        return _refused(page, exc)
    tz = page.clinic_tz
    return _render(
        page,
        "record.html",
        {
            "record": record,
            "p": record.patient,
            "name": _full_name(record.patient),
            "tz": tz,
            "services": page.catalog.services,
            "practitioners": page.catalog.practitioners,
            "section": "patients",
        },
    )


# -- payments and refunds ---------------------------------------------------------------------


class RefundForm(BaseModel):
    booking_id: str | None = Field(default=None, max_length=64)
    amount: str | None = Field(default=None, max_length=16)
    reason: str = Field(default="", max_length=500, validate_default=True)
    key: str = Field(min_length=8, max_length=64)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _given(value, "say why the payment is refunded")


def _cents(amount: str | None) -> int | None:
    """Dollars as typed ("40", "40.50", "$40") in cents; None when left empty."""
    if not amount:
        return None
    text = amount.replace("$", "").replace(",", "").strip()
    whole, _, part = text.partition(".")
    if not is_decimal(whole) or (part and (not is_decimal(part) or len(part) > 2)):
        raise ValueError("give the amount in dollars, e.g. 40 or 40.50")
    cents = int(whole) * 100 + int((part or "0").ljust(2, "0"))
    if cents <= 0:
        raise ValueError("give an amount above zero, or leave it empty")
    return cents


async def _payment_page(
    page: Frame, actor: Actor, orders: OrdersDep, order_id: str, posted: Posted, status: int
) -> HTMLResponse:
    """The payment with its refunds, or the page refusing it (not found, not for the role)."""
    try:
        order = await orders.get(actor, order_id)
    except DomainError as exc:
        return _refused(page, exc)
    can = Can.of(actor)
    tz = page.clinic_tz
    return _render(
        page,
        "payment.html",
        {
            "order": order,
            "tz": tz,
            "services": page.catalog.services,
            "may_refund": can.refund and order.status in REFUNDABLE,
            "posted": posted,
            "key": secrets.token_urlsafe(16),
            "section": "calendar",
        },
        status=status,
    )


@router.get("/staff/payments/{order_id}")
async def payment(page: FrameDep, orders: OrdersDep, order_id: str) -> Response:
    return await _payment_page(page, _staff(page), orders, order_id, Posted({}), 200)


@router.post("/staff/payments/{order_id}/refund")
async def refund(
    request: Request,
    page: FrameDep,
    keys: WebKeysDep,
    orders: OrdersDep,
    refunds: RefundsDep,
    order_id: str,
) -> Response:
    posted, actor = await _staff_form(request, page, keys)
    form = validated(RefundForm, posted)
    cents = None
    try:
        cents = _cents(posted.values.get("amount"))
    except ValueError as exc:
        posted.error("amount", _sentence(str(exc)))
    try:
        if form is None or posted.errors:
            if not Can.of(actor).refund:
                raise Forbidden("your role may not refund payments")
            return await _payment_page(page, actor, orders, order_id, posted, 422)
        req = RefundRequest(form.booking_id or None, cents, form.reason)
        await refunds.refund(actor, order_id, req, f"web-{form.key}")
    except (NotFound, Forbidden, Unauthenticated) as exc:
        return _refused(page, exc)
    except DomainError as exc:
        posted.error("", _sentence(str(exc)))
        return await _payment_page(page, actor, orders, order_id, posted, exc.status)
    return RedirectResponse(f"/staff/payments/{order_id}#refunds", status_code=303)
