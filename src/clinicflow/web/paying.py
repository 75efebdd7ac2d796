"""Paying online on the booking site: after the details step books the visit, the browser
holds a signed booking pass (web/passes.py) and, when the patient chose to pay now, comes to
`/book/pay/{pass}`: Stripe's card form (Stripe.js, with the client secret `POST
/v1/payments` also answers) or a redirect to PayPal's approve link. The confirmation page
then says paid, or pending until the gateway's webhook lands.

Who pays. The booker is anonymous; the checkout is made by `CheckoutService.create`, the API's
use case, for exactly the booking the pass names, as a *payer*: a patient actor built from
the pass's booking and patient (both signed into the pass by the server when it booked, so a
browser cannot choose them) with the id `web-pass:<booking id>`, which the audit rows show.
It is used for that one checkout, its capture (PayPal) and reading that one order's status
for the confirmation, and for nothing else: no other page or route ever sees it, and a
patient's reach in payments is that patient's own orders anyway. An anonymous caller can
read nothing more than before: the pass holder learns whether their own booking is paid.

The checkout is keyed (`Idempotency-Key` as the API has it) by the booking and the method,
so reloading the pay page answers the same order (and Stripe's same client secret) instead
of making a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clinicflow.infra.web import ClockDep, provided
from clinicflow.payments.checkout.api import CheckoutDep
from clinicflow.payments.checkout.commands import CheckoutRequest
from clinicflow.payments.domain.orders import SETTLED
from clinicflow.payments.orders.api import OrdersDep
from clinicflow.payments.orders.views import OrderView
from clinicflow.settings import Settings
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.errors import DomainError
from clinicflow.web import passes
from clinicflow.web.pages import Frame, FrameDep
from clinicflow.web.security import CSP, WebKeys, WebKeysDep

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

BOOKED_PASS = "booked"  # noqa: S105 (a kind of pass, not a secret): booking_details'
BOOKED_PASS_DAYS = 7
PAYPAL_COOKIE = "cf_paypal"  # the pass of the booking being paid at PayPal, for the return
GATEWAY = {"card": "stripe", "paypal": "paypal"}  # the form's choice → the checkout's method


@dataclass(frozen=True, slots=True)
class PayOptions:
    """The online payments the booking site may offer: card when Stripe is set up with its
    publishable key, PayPal when it is set up for redirects. "Pay at the clinic" is the
    catalog's (`payments.pay_at_clinic`)."""

    stripe_publishable_key: str | None = None
    stripe_js_origin: str = "https://js.stripe.com"
    paypal: bool = False

    @classmethod
    def of(cls, settings: Settings) -> PayOptions:
        stripe = bool(settings.stripe_secret_key and settings.stripe_webhook_secret)
        paypal = bool(
            settings.paypal_client_id
            and settings.paypal_client_secret
            and settings.paypal_webhook_id
            and settings.paypal_return_url
        )
        return cls(
            stripe_publishable_key=settings.stripe_publishable_key if stripe else None,
            stripe_js_origin=settings.stripe_js_origin.rstrip("/"),
            paypal=paypal,
        )

    @property
    def card(self) -> bool:
        return self.stripe_publishable_key is not None

    def choices(self, page: Frame) -> list[str]:
        """What the details step offers, in order: card, paypal, clinic."""
        found = [m for m, on in (("card", self.card), ("paypal", self.paypal)) if on]
        if page.catalog.payments.pay_at_clinic or not found:
            found.append("clinic")  # with nothing online set up, the clinic takes payment
        return found

    def csp(self) -> str:
        """The card page's policy: ours, plus Stripe.js and its card field's frame."""
        origin = self.stripe_js_origin
        return CSP.replace("script-src 'self'", f"script-src 'self' {origin}") + (
            f"; frame-src {origin}"
        )


PayOptionsDep = Annotated[PayOptions, Depends(provided(PayOptions))]


def payer(facts: passes.JsonFacts) -> Actor | None:
    """The narrow patient actor for the booking a pass names (this module's docstring)."""
    patient, booking = facts.get("patient"), facts.get("id")
    if not isinstance(patient, str) or not isinstance(booking, str) or not patient:
        return None
    return Actor(kind="patient", id=f"web-pass:{booking}", role=Role.PATIENT, patient_id=patient)


async def payment_of(orders: OrdersDep, facts: passes.JsonFacts) -> OrderView | None:
    """The order the pass names, read as its payer; None when it names none."""
    actor, order = payer(facts), facts.get("order")
    if actor is None or not isinstance(order, str):
        return None
    try:
        return await orders.get(actor, order)
    except DomainError:
        return None


def _booked(keys: WebKeys, facts: passes.JsonFacts, now: datetime) -> str:
    return passes.issue(keys, BOOKED_PASS, facts, now + timedelta(days=BOOKED_PASS_DAYS))


@router.get("/book/pay/{token}")
async def pay(
    page: FrameDep,
    keys: WebKeysDep,
    clock: ClockDep,
    options: PayOptionsDep,
    checkout: CheckoutDep,
    token: str,
) -> Response:
    now = clock.now()
    facts = passes.read(keys, BOOKED_PASS, token, now)
    actor = None if facts is None else payer(facts)
    method = None if facts is None else GATEWAY.get(str(facts.get("pay")))
    if facts is None or actor is None or method is None:
        return _problem(
            page,
            "This payment link has expired",
            "your booking stands; pay at the clinic, or from the link in your confirmation email",
            404,
        )
    booking = str(facts["id"])
    request = CheckoutRequest((booking,), method=method)
    try:
        made, _ = await checkout.create(actor, request, f"web-book:{booking}:{method}")
    except DomainError as exc:
        return _problem(
            page,
            "The payment could not be started",
            f"{exc}. Your booking stands: you can pay at the clinic",
            exc.status,
        )
    paid = _booked(keys, {**facts, "order": made.order.id}, now)
    if made.order.status in SETTLED or (made.client_secret is None and made.approve_url is None):
        return RedirectResponse(f"/book/done/{paid}", status_code=303)
    if made.approve_url is not None:
        answer = RedirectResponse(made.approve_url, status_code=303)
        answer.set_cookie(
            PAYPAL_COOKIE,
            paid,
            max_age=3600,
            httponly=True,
            secure=page.request.url.scheme == "https",
            samesite="lax",  # PayPal's redirect back is a top-level GET: the cookie comes
            path="/book/paypal",
        )
        return answer
    return page.render(
        "book_pay.html",
        {
            "order": made.order,
            "client_secret": made.client_secret,
            "publishable_key": options.stripe_publishable_key,
            "stripe_js": f"{options.stripe_js_origin}/v3/",
            "done": f"/book/done/{paid}",
        },
        csp=options.csp(),
    )


@router.get("/book/paypal/return")
async def paypal_return(
    request: Request, page: FrameDep, keys: WebKeysDep, clock: ClockDep, orders: OrdersDep
) -> Response:
    """PayPal sends the buyer back here after approving: capture, then the confirmation."""
    paid = request.cookies.get(PAYPAL_COOKIE, "")
    facts = passes.read(keys, BOOKED_PASS, paid, clock.now())
    actor = None if facts is None else payer(facts)
    order = None if facts is None else facts.get("order")
    if facts is None or actor is None or not isinstance(order, str):
        return _problem(
            page,
            "We could not finish the PayPal payment",
            "this browser no longer holds the booking; your booking stands, and the clinic "
            "takes payment at the visit",
            404,
        )
    try:
        await orders.capture(actor, order)
    except DomainError as exc:
        return _problem(page, "PayPal did not take the payment", f"{exc}", exc.status)
    answer = RedirectResponse(f"/book/done/{paid}", status_code=303)
    answer.delete_cookie(PAYPAL_COOKIE, path="/book/paypal")
    return answer


@router.get("/book/paypal/cancel")
async def paypal_cancel(
    request: Request, page: FrameDep, keys: WebKeysDep, clock: ClockDep
) -> Response:
    """The buyer turned back at PayPal: the booking stands, unpaid."""
    paid = request.cookies.get(PAYPAL_COOKIE, "")
    if passes.read(keys, BOOKED_PASS, paid, clock.now()) is None:
        return _problem(page, "The PayPal payment was not made", "your booking stands", 404)
    return RedirectResponse(f"/book/done/{paid}", status_code=303)


def _problem(page: Frame, title: str, detail: str, status: int) -> HTMLResponse:
    return page.render("problem.html", {"title": title, "detail": detail}, status=status)
