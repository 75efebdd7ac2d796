"""The waitlist's routes: one router per aggregate, all mounted by the gateway.

The person's own entry lives at /v1/waitlist/mine?token=…: a fixed word that no entry id can
be confused with, and a token in the query string, which request logs drop.
"""

from __future__ import annotations

from fastapi import APIRouter

from clinicflow.waitlist.conversions.api import router as conversions
from clinicflow.waitlist.entries.api import router as entries
from clinicflow.waitlist.launches.api import router as launches
from clinicflow.waitlist.nurture.api import router as nurture
from clinicflow.waitlist.offers.api import router as offers
from clinicflow.waitlist.stats.api import router as stats

routers: tuple[APIRouter, ...] = (entries, stats, launches, offers, conversions, nurture)
