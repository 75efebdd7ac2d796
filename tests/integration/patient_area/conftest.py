"""The patient's area tests' fixture: pat1's visit booked and paid at the desk."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from clinicflow.bootstrap import Container
from support.patient_area import book, paid_at_the_desk


@pytest.fixture
async def visit_paid(
    client: httpx.AsyncClient, container: Container
) -> tuple[dict[str, Any], dict[str, Any]]:
    """pat1's visit (Wednesday 10:00) booked on the API and paid in cash at the front desk:
    the booking and its order."""
    visit = await book(client)
    return visit, await paid_at_the_desk(client, container, visit["id"])
