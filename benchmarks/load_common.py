"""Paths, the availability query and the targets shared by the load benchmark's modules."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LUA = HERE / "http_load.lua"
MARKER = "HTTP_LOAD_JSON "
DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Statuses whose rows occupy a practitioner's time (clinicflow.booking.tables.OCCUPYING).
OCCUPYING = ("held", "confirmed", "checked_in", "completed", "no_show")
# The availability query every availability scenario asks: a booking page's question.
AVAILABILITY_QUERY = "service=alternative_medicine&visit_type=initial&duration=15"

# Targets (issue 7, item 9).
CACHED_SHARE_OF_BARE = 0.25
BOOKINGS_PER_SECOND = 400.0
UNCACHED_P50_MS = 100.0
