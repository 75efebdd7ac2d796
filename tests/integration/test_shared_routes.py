"""Apps built in one process share the contexts' routes (gateway/app.py `_context_routes`);
each still answers from its own container: its own database, users and credentials."""

from __future__ import annotations

import shutil
from pathlib import Path

from clinicflow.bootstrap import Container
from clinicflow.catalog import Catalog
from clinicflow.gateway.app import create_app
from clinicflow.shared.clock import FixedClock
from support.api import app_over, book, refused
from support.app import build_for_test, clinic_settings, staff_session


async def test_two_apps_share_routes_but_each_answers_from_its_own_container(
    container: Container,
    database_url: str,
    tmp_path: Path,
    clock: FixedClock,
    clinic_catalog: Catalog,
    key_ring_file: Path,
) -> None:
    other_db = tmp_path / "other" / "clinicflow.sqlite3"
    other_db.parent.mkdir()
    shutil.copy(database_url.removeprefix("sqlite+aiosqlite:///"), other_db)
    other = build_for_test(
        clinic_settings(f"sqlite+aiosqlite:///{other_db}", other_db.parent),
        clock=clock,
        catalog=clinic_catalog,
        key_ring=key_ring_file,
    )
    try:
        first, second = create_app(container=container), create_app(container=other)
        shared = [r for r in first.router.routes if any(r is s for s in second.router.routes)]
        assert shared, "the contexts' routes are the same objects in both apps"

        desk = await staff_session(container, "desk", "front_desk")
        async with app_over(container) as one, app_over(other) as two:
            made = await book(one)
            # The desk's session is the first container's: the second app does not know it.
            assert (await one.get(f"/v1/bookings/{made['id']}", headers=desk)).is_success
            refused(
                await two.get(f"/v1/bookings/{made['id']}", headers=desk),
                401,
                "invalid_token",
            )
            # And its own desk, with its own database, does not find the first one's booking.
            other_desk = await staff_session(other, "desk", "front_desk")
            missing = await two.get(f"/v1/bookings/{made['id']}", headers=other_desk)
            assert missing.status_code == 404, missing.text
    finally:
        await other.aclose()
