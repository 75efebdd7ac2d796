"""Feature flags: admin-only changes, a stable share of clients, every replica within seconds."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.flags import FlagService, in_rollout
from clinicflow.flags.repository import SqlFlagsUnitOfWork
from clinicflow.infra.unit_of_work import Factory
from clinicflow.shared.clock import FixedClock
from support.app import admin_session, staff_session

# Flags are upserted with each dialect's ON CONFLICT.
pytestmark = pytest.mark.both_databases


async def test_admins_list_and_change_flags_and_others_may_not(
    client: httpx.AsyncClient, container: Container
) -> None:
    admin = await admin_session(container)
    desk = await staff_session(container, "desk", "front_desk")
    listed = await client.get("/v1/flags", headers=admin)
    assert {f["key"]: f["enabled"] for f in listed.json()} == {
        "paypal_backup": True,
        "waitlist_auto_offers": True,
    }
    changed = await client.put("/v1/flags/paypal_backup", json={"enabled": False}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["updated_by"]
    assert changed.json()["enabled"] is False
    assert not await container.flags.is_enabled("paypal_backup", "any-client")
    assert (await client.get("/v1/flags", headers=desk)).status_code == 403
    assert (await client.get("/v1/flags")).status_code == 401
    bad = await client.put(
        "/v1/flags/new_pages", json={"enabled": True, "percentage": 150}, headers=admin
    )
    assert bad.status_code == 422
    assert "percentage" in bad.json()["detail"]


async def test_a_partial_rollout_reaches_a_stable_share_of_clients(
    client: httpx.AsyncClient, container: Container
) -> None:
    admin = await admin_session(container)
    resp = await client.put(
        "/v1/flags/new_pages", json={"enabled": True, "percentage": 30}, headers=admin
    )
    assert resp.status_code == 200, resp.text
    clients = [f"client-{n}" for n in range(1000)]
    reached = [c for c in clients if await container.flags.is_enabled("new_pages", c)]
    assert 250 <= len(reached) <= 350
    assert reached == [c for c in clients if in_rollout("new_pages", c, 30)]  # stable
    wider = [c for c in clients if in_rollout("new_pages", c, 60)]
    assert set(reached) <= set(wider)  # raising the share only adds clients
    assert not await container.flags.is_enabled("new_pages", None)  # no client, no rollout


async def test_another_replica_sees_a_change_within_its_cache_time(
    container: Container, clock: FixedClock, client: httpx.AsyncClient
) -> None:
    uow = Factory(container.db, SqlFlagsUnitOfWork)
    replica = FlagService(uow=uow, clock=clock, ttl=timedelta(seconds=5))
    assert await replica.is_enabled("waitlist_auto_offers")
    admin = await admin_session(container)
    resp = await client.put(
        "/v1/flags/waitlist_auto_offers", json={"enabled": False}, headers=admin
    )
    assert resp.status_code == 200
    assert await replica.is_enabled("waitlist_auto_offers")  # still its cached answer
    clock.advance(timedelta(seconds=5))
    assert not await replica.is_enabled("waitlist_auto_offers")
