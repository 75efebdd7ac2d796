"""The staff console tests' fixtures: the app on the test container, a new browser (its own
cookies) with a staff member signed in, and this afternoon's visits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from clinicflow.bootstrap import Container
from clinicflow.gateway.app import create_app
from support.staff_console import TODAY_2PM, TODAY_3PM, Staff, booked
from support.staff_console import sign_in_over_http as sign_in
from support.staff_console_pages import Browser


@pytest.fixture
def app(container: Container) -> FastAPI:
    return create_app(container=container)


@pytest.fixture
def browser(app: FastAPI, container: Container) -> Browser:
    """A new browser (its own cookies) on the app with `who` signed in, as often as a test
    needs one."""

    @asynccontextmanager
    async def opened(who: Staff) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
            await sign_in(http, container, who)
            yield http

    return opened


@pytest.fixture
async def visits(container: Container) -> dict[str, tuple[str, str]]:
    """This afternoon: Ana with doctor1 at 2 PM, Ben with the nurse at 3 PM."""
    return {
        "ana": await booked(container, "Ana", "Quill", TODAY_2PM, "doctor1"),
        "ben": await booked(container, "Ben", "Ortiz", TODAY_3PM, "nurse"),
    }
