"""`clinicflow payments reconcile` as people run it: against the fake Stripe server, it
agrees with a ledger built by a real checkout and webhook, then reports a difference
planted at the gateway (a refund made there, not here) and exits 1."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from clinicflow.bootstrap import build
from clinicflow.cli import app
from clinicflow.gateway.app import create_app
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.fake_stripe import API_KEY, WEBHOOK_SECRET, FakeStripe
from support.fake_stripe_wire import event_body, sign
from support.migrated import migrated

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # as tests/conftest.py
PATIENT = {"first_name": "Pat", "last_name": "Example", "email": "pat@example.com"}


@pytest.fixture
def stripe_server() -> Iterator[FakeStripe]:
    server = FakeStripe()
    server.now = int(NOW.timestamp())
    server.start()
    yield server
    server.stop()


def _env(tmp_path: Path, stripe_url: str) -> dict[str, str]:
    return {
        "CLINICFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'clinic.sqlite3'}",
        "CLINICFLOW_KEYS_FILE": str(tmp_path / "keys.json"),
        "CLINICFLOW_DATA_DIR": str(tmp_path),
        "CLINICFLOW_CONFIG_PATH": str(ROOT / "config" / "clinic.yaml"),
        "CLINICFLOW_STRIPE_SECRET_KEY": API_KEY,
        "CLINICFLOW_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CLINICFLOW_STRIPE_BASE_URL": stripe_url,
        "CLINICFLOW_PROVIDER_RETRY_ATTEMPTS": "1",
    }


async def _paid_visit(env: dict[str, str], server: FakeStripe) -> str:
    settings = Settings.model_validate(
        {k.removeprefix("CLINICFLOW_").lower(): v for k, v in env.items()}
    )
    await migrated(settings.database_url)
    http = httpx.AsyncClient(trust_env=False, timeout=5)
    container = build(settings, clock=FixedClock(NOW), http=http)
    transport = httpx.ASGITransport(app=create_app(container=container))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as api:
            visit = {"service": "alternative_medicine", "visit_type": "initial", "duration": 20}
            body = visit | {"start": "2026-11-30T10:00:00-06:00", "practitioner": "doctor1"}
            booked = (await api.post("/v1/bookings", json=body | {"patient": PATIENT})).json()
            opened = await container.identity.sessions.open_for_patient(booked["patient_id"])
            me = {"Cookie": f"cf_session={opened.token}"}
            checkout = {"booking_ids": [booked["id"]], "method": "stripe"}
            order = (await api.post("/v1/payments", json=checkout, headers=me)).json()
            intent_id = str(order["provider_id"])
            server.complete(intent_id)
            event = event_body("payment_intent.succeeded", server.intents[intent_id], server.now)
            signed = {
                "Stripe-Signature": sign(WEBHOOK_SECRET, event, server.now),
                "Content-Type": "application/json; charset=utf-8",
            }
            answer = await api.post("/v1/webhooks/stripe", content=event, headers=signed)
            assert answer.json()["outcome"] == "paid"
            return intent_id
    finally:
        await container.aclose()


def test_reconcile_agrees_then_reports_a_refund_made_only_at_the_gateway(
    tmp_path: Path, stripe_server: FakeStripe
) -> None:
    env = _env(tmp_path, stripe_server.url)
    intent_id = asyncio.run(_paid_visit(env, stripe_server))
    runner = CliRunner()
    command = ["payments", "reconcile", "--since", "2026-11-01"]

    agreed = runner.invoke(app, command, env=env)
    charge = stripe_server.intents[intent_id]["latest_charge"]
    stripe_server.charges[charge]["amount_refunded"] = 2_000  # refunded in Stripe's dashboard
    differs = runner.invoke(app, command, env=env)

    assert agreed.exit_code == 0, agreed.output
    assert "agree" in agreed.output
    assert re.search(r"gateway records read .* 1/1", " ".join(agreed.output.split()))
    assert differs.exit_code == 1, differs.output
    assert "refund_mismatch" in differs.output
    assert intent_id in differs.output
