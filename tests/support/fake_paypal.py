"""A fake PayPal REST API on loopback: OAuth2 client credentials, Orders v2 (CREATED →
APPROVED → COMPLETED), capture refunds, and verify-webhook-signature.

JSON bodies, Basic auth for the token and Bearer tokens after it, PayPal-Request-Id replay,
error bodies shaped as PayPal's ({name, message, debug_id, details[{issue, description}]}).
`approve` plays the buyer; `webhook` plays PayPal delivering an event (fake_paypal_webhooks
signs it, and answers verify-webhook-signature).
API calls (not the token endpoint) can fail first (`answers`), lose their reply after the
work (`lose_replies`), or hang (`hang`); `revoke_tokens` makes issued tokens invalid.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from support.fake_http import Reply, Request, json_reply
from support.fake_paypal_webhooks import WEBHOOK_ID, WebhookSigner
from support.fake_paypal_wire import (
    amount_problem,
    capture_object,
    iso,
    not_found,
    order_object,
    paypal_error,
    paypal_id,
    refund_object,
    unprocessable,
)
from support.fake_vendor import FlakyApi

CLIENT_ID = "fake-client-id-AbC123"
CLIENT_SECRET = "fake-client-secret-XyZ789"


class FakePayPal(FlakyApi):
    def __init__(self) -> None:
        super().__init__()
        self.now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
        self.token_lifetime = 32_400  # seconds, as PayPal's sandbox issues them
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.orders: dict[str, dict[str, Any]] = {}
        self.captures: dict[str, str] = {}  # capture id → order id
        self.declines: dict[str, str] = {}  # order id → the issue its capture will meet
        self._stored: dict[str, Reply] = {}
        self.signer = WebhookSigner()

    # -- the buyer, and PayPal's own doings --------------------------------------------------

    def approve(self, order_id: str, decline: str | None = None) -> None:
        """The buyer approves; `decline` is the 422 issue the capture will then meet."""
        with self._lock:
            self.orders[order_id]["status"] = "APPROVED"
            if decline is not None:
                self.declines[order_id] = decline

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def forget_request_ids(self) -> None:
        """PayPal keeps PayPal-Request-Id results for 6 hours by default, then forgets them."""
        self._stored.clear()

    def captured_count(self) -> int:
        return len(self.captures)

    def webhook(
        self, event_type: str, resource: dict[str, Any], webhook_id: str = WEBHOOK_ID
    ) -> tuple[dict[str, str], bytes]:
        """A delivery as PayPal makes it: (headers, raw body)."""
        return self.signer.deliver(event_type, resource, webhook_id, self.now)

    # -- HTTP --------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
        if request.path == "/v1/oauth2/token":
            return self._token(request)
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.tokens:
            return paypal_error(
                401,
                "AUTHENTICATION_FAILURE",
                "Authentication failed due to "
                "invalid authentication credentials or a missing Authorization "
                "header.",
            )
        with self._lock:
            forced = self._next_forced()
        self._hold_while_hanging()
        if forced is not None:
            return paypal_error(
                forced, "INTERNAL_SERVICE_ERROR", "An internal server error has occurred."
            )
        lost = paypal_error(503, "SERVICE_UNAVAILABLE", "The reply was lost.")
        return self._done_or_lost(lambda: self._once(request), lost)

    def _token(self, request: Request) -> Reply:
        self.token_requests += 1
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {basic}":
            return json_reply(
                401,
                {"error": "invalid_client", "error_description": "Client Authentication failed"},
            )
        if request.form().get("grant_type") != ["client_credentials"]:
            return json_reply(
                400, {"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"}
            )
        token = "A21AA" + secrets.token_urlsafe(24)
        self.tokens.add(token)
        return json_reply(
            200,
            {
                "scope": "https://uri.paypal.com/services/payments/refund",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-80W284485P519543T",
                "expires_in": self.token_lifetime,
                "nonce": secrets.token_hex(8),
            },
        )

    def _once(self, request: Request) -> Reply:
        request_id = request.headers.get("paypal-request-id")
        if request_id is not None and request_id in self._stored:
            return self._stored[request_id]
        reply = self._route(request)
        if request_id is not None:
            self._stored[request_id] = reply
        return reply

    def _route(self, request: Request) -> Reply:
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and parts[:3] == ["v2", "checkout", "orders"]:
            order = self.orders.get(parts[3]) if len(parts) == 4 else None
            return json_reply(200, order) if order else not_found()
        if request.headers.get("content-type") != "application/json":
            return paypal_error(415, "UNSUPPORTED_MEDIA_TYPE", "Expected application/json")
        body = json.loads(request.body or b"{}")
        if parts == ["v2", "checkout", "orders"]:
            return self._create(body, request.headers.get("prefer", ""))
        if parts[:3] == ["v2", "checkout", "orders"] and parts[4:] == ["capture"]:
            return self._capture(parts[3])
        if parts[:3] == ["v2", "payments", "captures"] and parts[4:] == ["refund"]:
            return self._refund(parts[3], body)
        if parts == ["v1", "notifications", "verify-webhook-signature"]:
            return self.signer.verify(body)
        return not_found()

    # -- Orders v2 ---------------------------------------------------------------------------

    def _create(self, body: dict[str, Any], prefer: str) -> Reply:
        if body.get("intent") not in ("CAPTURE", "AUTHORIZE"):
            return paypal_error(
                400, "INVALID_REQUEST", "intent is required.", "MISSING_REQUIRED_PARAMETER"
            )
        units = body.get("purchase_units") or []
        amount = units[0].get("amount", {}) if units else {}
        problem = amount_problem(amount)
        if problem is not None:
            return problem
        order_id = paypal_id()
        paying = "paypal" in (body.get("payment_source") or {})
        self.orders[order_id] = order_object(order_id, body, paying, iso(self.now))
        order = self.orders[order_id]
        shown = (
            order
            if "return=representation" in prefer
            else {k: order[k] for k in ("id", "status", "links")}
        )
        return json_reply(201, shown)

    def _capture(self, order_id: str) -> Reply:
        order = self.orders.get(order_id)
        if order is None:
            return not_found()
        if order["status"] == "COMPLETED":
            return unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured.")
        if order["status"] != "APPROVED":
            return unprocessable(
                "ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment."
            )
        if order_id in self.declines:
            return unprocessable(
                self.declines[order_id],
                "The instrument presented was either declined by the processor or bank.",
            )
        unit = order["purchase_units"][0]
        capture_id = paypal_id()
        capture = capture_object(capture_id, unit, order["create_time"])
        unit["payments"] = {"captures": [capture], "refunds": []}
        order["status"] = "COMPLETED"
        self.captures[capture_id] = order_id
        return json_reply(201, order)

    def _refund(self, capture_id: str, body: dict[str, Any]) -> Reply:
        if capture_id not in self.captures:
            return not_found()
        payments = self.orders[self.captures[capture_id]]["purchase_units"][0]["payments"]
        capture = payments["captures"][0]
        paid = Decimal(capture["amount"]["value"])
        left = paid - sum((Decimal(r["amount"]["value"]) for r in payments["refunds"]), Decimal())
        if left == 0:
            return unprocessable(
                "CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded."
            )
        amount = body.get("amount") or {**capture["amount"], "value": str(left)}
        problem = amount_problem(amount)
        if problem is not None:
            return problem
        if amount["currency_code"] != capture["amount"]["currency_code"]:
            return unprocessable("CURRENCY_MISMATCH", "Refund currency must match the capture.")
        if Decimal(amount["value"]) > left:
            return unprocessable(
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be at most the capture amount not yet refunded.",
            )
        refund_id = paypal_id()
        refund = refund_object(refund_id, capture_id, amount, body.get("custom_id"), iso(self.now))
        payments["refunds"].append(refund)
        capture["status"] = "REFUNDED" if Decimal(amount["value"]) == left else "PARTIALLY_REFUNDED"
        return json_reply(201, refund)
