"""A fake Stripe API v1 on loopback: PaymentIntents and Refunds, as the official SDK calls them.

Speaks Stripe's wire protocol: Bearer secret key, form-encoded bodies with bracketed nested
keys (`metadata[order_id]`, `expand[0]`), Stripe's error objects, list pagination, and
idempotency (the first result stored per `Idempotency-Key` and replayed, a reused key with
other parameters refused). It can fail before doing the work (`answers`), do the work and
lose the reply (`lose_replies`, as a timeout after Stripe charged), or hang (`hang`).
The wire format itself (forms, errors, objects, events, signatures) is in fake_stripe_wire.

For browser tests it also stands in for Stripe.js (fake_stripe_js: `/v3/`, the card field's
frame, and the publishable-key confirm that Stripe.js makes); a confirmed PaymentIntent then
makes the fake send the signed `payment_intent.succeeded` webhook to `webhook_url`, as Stripe
would.
"""

from __future__ import annotations

import itertools
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlsplit

from support.fake_http import Reply, Request, json_reply
from support.fake_stripe_js import CARD_FRAME, STRIPE_JS
from support.fake_stripe_wire import (
    charge_object,
    decode_form,
    event_body,
    intent_object,
    invalid,
    sign,
    stripe_error,
)
from support.fake_vendor import FlakyApi

API_KEY = "sk_test_fake_0123456789abcdef"
PUBLISHABLE_KEY = "pk_test_fake_0123456789abcdef"
WEBHOOK_SECRET = "whsec_fake_0123456789abcdef"
# What the card field's test numbers stand for (Stripe's documented test cards).
CARD_NUMBERS = {"4242424242424242": "pm_card_visa", "4000000000000002": "pm_card_chargeDeclined"}
# Stripe's test payment methods and the decline code each one produces (None: it pays).
TEST_CARDS: dict[str, str | None] = {
    "pm_card_visa": None,
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
}
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
REASONS = ("duplicate", "fraudulent", "requested_by_customer")


class FakeStripe(FlakyApi):
    def __init__(self, api_key: str = API_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.now = 1_795_000_000  # unix seconds stamped on new objects; tests move it
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.webhook_url: str | None = None  # where confirmed payments are reported, if set
        self.webhooks_sent: list[int] = []  # the answers clinicflow gave to them
        self._stored: dict[str, tuple[str, Reply]] = {}
        self._order = itertools.count()
        self._sequence: dict[str, int] = {}  # creation order, to list newest first

    def app_settings(self) -> dict[str, object]:
        """The app's settings that point it here: the API with its webhook secret, and the
        card form (Stripe.js) on the pages; one try a call, so a refusal shows at once."""
        return {
            "stripe_secret_key": self.api_key,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_base_url": self.url,
            "stripe_publishable_key": PUBLISHABLE_KEY,
            "stripe_js_origin": self.url,
            "provider_retry_attempts": 1,
        }

    # -- what a browser or Stripe itself would do -------------------------------------------

    def complete(self, intent_id: str, payment_method: str = "pm_card_visa") -> None:
        """The buyer confirms in the browser with this test card."""
        with self._lock:
            self._confirm(self.intents[intent_id], payment_method)

    # -- HTTP --------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Reply:
        browser = self._browser(request)  # Stripe.js's side: no secret key
        if browser is not None:
            return browser
        with self._lock:
            self.requests.append(request)
            forced = self._next_forced()
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return stripe_error(401, "invalid_request_error", "Invalid API Key provided: sk_***")
        self._hold_while_hanging()
        if forced is not None:
            return stripe_error(forced, "api_error", "Something went wrong on Stripe's end.")
        if request.method == "GET":
            return self._get(request)
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return invalid("Expected a form-encoded body")
        return self._post_once(request)

    def _post_once(self, request: Request) -> Reply:
        lost = stripe_error(503, "api_error", "The reply was lost on the way.")
        return self._done_or_lost(lambda: self._replay_or_do(request), lost)

    def _replay_or_do(self, request: Request) -> Reply:
        key = request.headers.get("idempotency-key")
        fingerprint = request.path + "\n" + request.body.decode()
        if key is not None and key in self._stored:
            first, reply = self._stored[key]
            if first != fingerprint:
                return stripe_error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with.",
                )
            return Reply(reply.status, reply.headers | {"Idempotent-Replayed": "true"}, reply.body)
        reply = self._post(request.path, decode_form(request.body.decode()))
        if key is not None:
            self._stored[key] = (fingerprint, reply)
        return reply

    def _post(self, path: str, form: dict[str, Any]) -> Reply:
        parts = path.strip("/").split("/")
        if parts == ["v1", "payment_intents"]:
            return self._create_intent(form)
        if len(parts) == 4 and parts[:2] == ["v1", "payment_intents"] and parts[3] == "cancel":
            return self._cancel(parts[2], form)
        if parts == ["v1", "refunds"]:
            return self._refund(form)
        return _unrecognized("POST", path)

    def _get(self, request: Request) -> Reply:
        query = decode_form(urlsplit(request.target).query)
        expand = list(query.get("expand", []))
        parts = request.path.strip("/").split("/")
        with self._lock:
            if parts == ["v1", "payment_intents"]:
                return self._list(query)
            if len(parts) == 3 and parts[:2] == ["v1", "payment_intents"]:
                intent = self.intents.get(parts[2])
                if intent is None:
                    return _missing("payment_intent", parts[2])
                return json_reply(200, self._expanded(intent, expand))
        return _unrecognized("GET", request.path)

    # -- what Stripe.js asks for in the buyer's browser ---------------------------------------

    def _browser(self, request: Request) -> Reply | None:
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and parts == ["v3"]:
            return Reply(
                200, {"Content-Type": "text/javascript; charset=utf-8"}, STRIPE_JS.encode()
            )
        if request.method == "GET" and parts == ["elements", "card"]:
            return Reply(200, {"Content-Type": "text/html; charset=utf-8"}, CARD_FRAME.encode())
        if request.method == "POST" and len(parts) == 4 and parts[3] == "confirm":
            return self._confirm_from_browser(parts[2], decode_form(request.body.decode()))
        return None

    def _confirm_from_browser(self, intent_id: str, form: dict[str, Any]) -> Reply:
        """Stripe.js's confirm: the publishable key and the intent's client secret."""
        if form.get("key") != PUBLISHABLE_KEY:
            return stripe_error(401, "invalid_request_error", "Invalid API Key provided: pk_***")
        with self._lock:
            intent = self.intents.get(intent_id)
            if intent is None or form.get("client_secret") != intent["client_secret"]:
                return _missing("payment_intent", intent_id)
            number = str(form.get("payment_method_data", {}).get("card", {}).get("number", ""))
            method = CARD_NUMBERS.get(number)
            if method is None:
                return stripe_error(
                    402, "card_error", "Your card number is incorrect.", code="incorrect_number"
                )
            decline = self._confirm(intent, method)
            shown = dict(intent)
        if decline is not None:
            return stripe_error(
                402, "card_error", "Your card was declined.", code="card_declined",
                decline_code=decline, payment_intent=shown,
            )  # fmt: skip
        self._report("payment_intent.succeeded", shown)
        return json_reply(200, shown)

    def _report(self, event_type: str, obj: dict[str, Any]) -> None:
        """The signed webhook Stripe sends once a payment succeeded (before the browser hears,
        here, so a test's confirmation page may already say paid)."""
        if self.webhook_url is None:
            return
        body = event_body(event_type, obj, self.now)
        headers = {
            "Stripe-Signature": sign(WEBHOOK_SECRET, body, self.now),
            "Content-Type": "application/json; charset=utf-8",
        }
        sent = urllib.request.Request(self.webhook_url, data=body, headers=headers, method="POST")
        # No proxy: one configured on the machine must not intercept loopback traffic.
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with direct.open(sent, timeout=10) as answer:
            self.webhooks_sent.append(answer.status)

    # -- PaymentIntents ----------------------------------------------------------------------

    def _create_intent(self, form: dict[str, Any]) -> Reply:
        amount, currency = form.get("amount", ""), form.get("currency", "")
        if not amount.isdigit():
            return invalid(
                "Missing required param: amount.", code="parameter_missing", param="amount"
            )
        if len(currency) != 3 or not currency.islower():
            return invalid("Invalid currency.", code="parameter_invalid_string", param="currency")
        if currency == "usd" and int(amount) < 50:
            return invalid(
                "Amount must be at least $0.50 usd", code="amount_too_small", param="amount"
            )
        intent = self._new_intent(int(amount), currency, form)
        if form.get("confirm") == "true":
            method = form.get("payment_method", "")
            if method not in TEST_CARDS:
                return _missing("payment_method", method)
            decline = self._confirm(intent, method)
            if decline is not None:
                return stripe_error(
                    402,
                    "card_error",
                    "Your card was declined.",
                    code="card_declined",
                    decline_code=decline,
                    payment_intent=intent,
                )
        return json_reply(200, intent)

    def _new_intent(self, amount: int, currency: str, form: dict[str, Any]) -> dict[str, Any]:
        intent_id = "pi_" + uuid.uuid4().hex[:24]
        intent = intent_object(intent_id, amount, currency, form, self.now)
        self._sequence[intent_id] = next(self._order)
        self.intents[intent_id] = intent
        return intent

    def _confirm(self, intent: dict[str, Any], method: str) -> str | None:
        decline = TEST_CARDS[method]
        intent["payment_method"] = "pm_" + uuid.uuid4().hex[:24]
        if decline is not None:
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": decline,
                "message": "Your card was declined.",
            }
            return decline
        charge_id = "ch_" + uuid.uuid4().hex[:24]
        self.charges[charge_id] = charge_object(charge_id, intent, self.now)
        intent |= {
            "status": "succeeded",
            "amount_received": intent["amount"],
            "latest_charge": charge_id,
            "last_payment_error": None,
        }
        return None

    def _cancel(self, intent_id: str, form: dict[str, Any]) -> Reply:
        intent = self.intents.get(intent_id)
        if intent is None:
            return _missing("payment_intent", intent_id)
        if intent["status"] not in CANCELABLE:
            return invalid(
                f"You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                f"may be canceled: {', '.join(CANCELABLE)}.",
                code="payment_intent_unexpected_state",
                payment_intent=intent,
            )
        intent |= {
            "status": "canceled",
            "canceled_at": self.now,
            "cancellation_reason": form.get("cancellation_reason"),
        }
        return json_reply(200, intent)

    def _list(self, query: dict[str, Any]) -> Reply:
        created = query.get("created", {})
        since = int(created.get("gte", 0)) if isinstance(created, dict) else 0
        limit = min(int(query.get("limit", 10)), 100)
        newest_first = sorted(self.intents.values(), key=self._newest_first)
        matching = [i for i in newest_first if i["created"] >= since]
        after = query.get("starting_after")
        if after is not None:
            ids = [i["id"] for i in matching]
            matching = matching[ids.index(after) + 1 :] if after in ids else []
        page = matching[:limit]
        expand = [e.removeprefix("data.") for e in query.get("expand", [])]
        return json_reply(
            200,
            {
                "object": "list",
                "url": "/v1/payment_intents",
                "has_more": len(matching) > limit,
                "data": [self._expanded(i, expand) for i in page],
            },
        )

    def _newest_first(self, intent: dict[str, Any]) -> tuple[int, int]:
        return -intent["created"], -self._sequence[intent["id"]]

    def _expanded(self, intent: dict[str, Any], expand: list[str]) -> dict[str, Any]:
        shown = dict(intent)
        if "latest_charge" in expand and intent["latest_charge"]:
            shown["latest_charge"] = self.charges[intent["latest_charge"]]
        return shown

    # -- Refunds -----------------------------------------------------------------------------

    def _refund(self, form: dict[str, Any]) -> Reply:
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return _missing("payment_intent", form.get("payment_intent", ""))
        if form.get("reason", "requested_by_customer") not in REASONS:
            return invalid("Invalid reason.", code="parameter_invalid_string", param="reason")
        if intent["latest_charge"] is None:
            return invalid(
                "This PaymentIntent does not have a successful charge to refund.",
                code="payment_intent_unexpected_state",
            )
        charge = self.charges[intent["latest_charge"]]
        left = charge["amount"] - charge["amount_refunded"]
        if left == 0:
            return invalid(
                f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
            )
        amount = int(form.get("amount", left))
        if amount > left:
            return invalid(
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                code="amount_too_large",
                param="amount",
            )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        refund_id = "re_" + uuid.uuid4().hex[:24]
        self.refunds[refund_id] = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": self.now,
            "currency": charge["currency"],
            "metadata": dict(form.get("metadata", {})),
            "payment_intent": intent["id"],
            "reason": form.get("reason"),
            "status": "succeeded",
        }
        return json_reply(200, self.refunds[refund_id])


def _missing(kind: str, object_id: str) -> Reply:
    return invalid(
        f"No such {kind}: '{object_id}'", code="resource_missing", param="id", status=404
    )


def _unrecognized(method: str, path: str) -> Reply:
    return invalid(f"Unrecognized request URL ({method}: {path}).", status=404)
