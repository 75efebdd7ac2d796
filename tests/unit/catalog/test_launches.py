"""Launched services: booking's view of the catalog reads a launched service as active, and
each process re-reads the launched set only after its cache time or a launch of its own."""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType

from clinicflow.catalog import Catalog, Clinic, Service, VisitType
from clinicflow.catalog.service import LaunchState
from support.fake_catalog import fake_catalog

AT = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def counseling() -> Service:
    return Service(
        key="counseling",
        name="Counseling",
        active=False,
        waitlist=True,
        launch_date=None,
        visit_types=MappingProxyType(
            {
                "initial": VisitType("initial", (50,), 15000),
                "followup": VisitType("followup", (50,), 12000),
            }
        ),
        calendars=("counselor1",),
    )


def configured() -> Catalog:
    return Catalog(
        clinic=Clinic("Riverbend", "America/Chicago", "78701"),
        services=MappingProxyType({"counseling": counseling()}),
        practitioners=MappingProxyType({}),
    )


async def test_booking_sees_a_launched_service_as_active_once_the_launched_set_has_it() -> None:
    uow, table, _ = fake_catalog()
    state = LaunchState(uow=uow)
    catalog = configured()
    live = state.catalog(catalog)
    await state.refresh()
    assert live.services["counseling"].bookable is False
    assert live.services["counseling"].launched is False

    table.rows["counseling"] = (AT, "admin-1")  # launched (by another replica, say)
    state.invalidate()
    await state.refresh()

    assert live.services["counseling"].active is True
    assert live.services["counseling"].launched is True
    assert live.services["counseling"].bookable is True
    assert list(live.services) == ["counseling"]
    assert len(live.services) == 1
    assert catalog.services["counseling"].active is False  # the configuration is unchanged


async def test_the_launched_set_is_reread_only_after_its_ttl_or_a_launch_here() -> None:
    uow, table, ledger = fake_catalog()
    now = [0.0]
    state = LaunchState(uow=uow, ttl_seconds=5, monotonic=lambda: now[0])
    await state.refresh()
    assert table.reads == 1
    table.rows["counseling"] = (AT, "admin-1")

    now[0] = 4.9
    await state.refresh()
    assert table.reads == 1  # still its cached answer
    assert state.launched == frozenset()

    now[0] = 5.0
    await state.refresh()
    assert table.reads == 2
    assert state.launched == {"counseling"}

    state.invalidate()  # a launch in this process
    await state.refresh()
    assert table.reads == 3
    assert ledger.commits == 0  # reading only: nothing to commit
