"""The patient's own area, continued (`patient_area.py` has the sign-in and the visits):
receipts as HTML and PDF (`/me/receipts`) and their contact details and consents
(`/me/details`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clinicflow.patients.api import PatientReaderDep, PatientServiceDep
from clinicflow.patients.commands import PatientChanges
from clinicflow.patients.schemas import PatientFields
from clinicflow.payments.errors import PaymentStateConflict
from clinicflow.payments.receipts.api import ReceiptsDep, render_pdf
from clinicflow.shared.errors import DomainError
from clinicflow.web.forms import Posted, read_form, validated
from clinicflow.web.pages import Frame, FrameDep, page_router
from clinicflow.web.patient_area import (
    CHANNELS,
    DETAIL_FIELDS,
    _not_found,
    _problem,
    _signed_in,
    _signed_out,
)
from clinicflow.web.security import WebKeysDep

router = page_router()


# -- receipts ---------------------------------------------------------------------------------


@router.get("/me/receipts/{order_id}")
async def receipt(page: FrameDep, receipts: ReceiptsDep, order_id: str) -> Response:
    return await _receipt(page, receipts, order_id, pdf=False)


@router.get("/me/receipts/{order_id}/receipt.pdf")
async def receipt_pdf(page: FrameDep, receipts: ReceiptsDep, order_id: str) -> Response:
    return await _receipt(page, receipts, order_id, pdf=True)


async def _receipt(page: Frame, receipts: ReceiptsDep, order_id: str, *, pdf: bool) -> Response:
    if not _signed_in(page):
        return _signed_out(page)
    try:
        made = await receipts.receipt(page.actor, order_id[:64])
    except PaymentStateConflict:
        return _problem(page, "No receipt yet", "a receipt comes once the payment is made", 409)
    except DomainError as exc:
        if exc.status == 404:
            return _not_found(page, "receipt")
        raise
    if pdf:
        headers = {
            "Content-Disposition": f'inline; filename="receipt-{made.order_id}.pdf"',
            "Cache-Control": "no-store",
        }
        return Response(render_pdf(made), media_type="application/pdf", headers=headers)
    return page.render("me/receipt.html", {"r": made})


# -- contact details and consents -------------------------------------------------------------


@router.get("/me/details")
async def details(
    page: FrameDep,
    reader: PatientReaderDep,
    saved: Annotated[str, Query(pattern="^1?$")] = "",
) -> HTMLResponse:
    if not _signed_in(page):
        return _signed_out(page)
    return await _details(page, reader, None, saved=bool(saved))


async def _details(
    page: Frame, reader: PatientReaderDep, posted: Posted | None, *, saved: bool = False
) -> HTMLResponse:
    me = await reader.get(page.actor, str(page.actor.patient_id))
    if posted is None:
        values = {name: str(getattr(me, name) or "") for name in DETAIL_FIELDS}
        agreed = {key for key, consent in me.contact_prefs.items() if consent.get("opt_in")}
        values |= {f"pref_{key}": "on" for key, _ in CHANNELS if key in agreed}
        posted = Posted(values)
    context = {"me": me, "posted": posted, "channels": CHANNELS, "saved": saved}
    return page.render("me/details.html", context, status=422 if posted.errors else 200)


@router.post("/me/details")
async def change_details(
    request: Request,
    page: FrameDep,
    keys: WebKeysDep,
    reader: PatientReaderDep,
    patients: PatientServiceDep,
) -> Response:
    posted = await read_form(request, keys)
    if not _signed_in(page):
        return _signed_out(page)
    v = posted.values
    for name, words in (("first_name", "first name"), ("last_name", "last name")):
        if not v.get(name):
            posted.error(name, f"Give your {words}")
    blanks: dict[str, object] = {n: None for n in ("email", "phone", "pronouns") if not v.get(n)}
    prefs = {key: v.get(f"pref_{key}") == "on" for key, _ in CHANNELS}
    fields = validated(PatientFields, posted, {**blanks, "contact_prefs": prefs})
    if fields is None or posted.errors:
        return await _details(page, reader, posted)
    try:
        changes = PatientChanges(fields.changes())
        await patients.update(page.actor, str(page.actor.patient_id), changes)
    except DomainError as exc:
        where, _, rest = str(exc).partition(": ")
        if where in DETAIL_FIELDS and rest:
            posted.error(where, rest[:1].upper() + rest[1:])
        else:
            posted.error("", str(exc))
        return await _details(page, reader, posted)
    return RedirectResponse("/me/details?saved=1", status_code=303)
