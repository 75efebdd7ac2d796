"""The push subscriptions' repository, as the use cases see it (SQL in `repository.py`).
What it gives back is opened (unsealed) for the moment of sending."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from clinicflow.notifications.domain.push import Device, Registration, Saved


class PushSubscriptions(Protocol):
    async def save(self, browser: Registration, now: datetime) -> Saved:
        """Add the browser, or update it (keys, owner) when its endpoint is known already."""
        ...

    async def remove(self, patient_id: str, endpoint: str) -> str | None:
        """Delete the patient's own registration of `endpoint`; its id, or None if none."""
        ...

    async def forget_patient(self, patient_id: str) -> int:
        """Delete every browser the patient registered; how many there were."""
        ...

    async def newest(self, patient_id: str) -> datetime | None:
        """When the patient last registered a browser; None when they have none."""
        ...

    async def of(self, patient_id: str) -> list[Device]:
        """The patient's browsers, oldest first."""
        ...

    async def forget(self, device_ids: Sequence[str]) -> None: ...

    async def used(self, device_ids: Sequence[str], now: datetime) -> None: ...
