"""FHIR ids for clinicflow's keys. A FHIR id is `[A-Za-z0-9\\-.]{1,64}`; catalog keys use
`_`, so a key's id spells it with `-` and is read back against the catalog. A Schedule is a
practitioner's calendar for one service (`<practitioner>.<service>`); a Slot is one open
start of one visit on it (`<schedule>.<visit type>.<minutes>.<UTC yyyymmddHHMM>`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from clinicflow.shared.numerals import is_decimal

ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def of_key(key: str) -> str:
    return key.replace("_", "-")


def key_of(fhir_id: str, keys: Iterable[str]) -> str | None:
    return next((k for k in keys if of_key(k) == fhir_id), None)


def schedule_id(practitioner: str, service: str) -> str:
    return f"{of_key(practitioner)}.{of_key(service)}"


@dataclass(frozen=True, slots=True)
class SlotKey:
    practitioner: str
    service: str
    visit_type: str
    duration: int
    start: datetime

    @property
    def id(self) -> str:
        stamp = self.start.astimezone(UTC).strftime("%Y%m%d%H%M")
        return (
            f"{schedule_id(self.practitioner, self.service)}."
            f"{of_key(self.visit_type)}.{self.duration}.{stamp}"
        )


def parse_schedule(
    fhir_id: str, practitioners: Iterable[str], services: Iterable[str]
) -> tuple[str, str] | None:
    parts = fhir_id.split(".")
    if len(parts) != 2:
        return None
    practitioner, service = key_of(parts[0], practitioners), key_of(parts[1], services)
    return None if practitioner is None or service is None else (practitioner, service)


def parse_slot(
    fhir_id: str,
    practitioners: Iterable[str],
    services: Iterable[str],
    visit_types: Iterable[str],
) -> SlotKey | None:
    parts = fhir_id.split(".")
    if len(parts) != 5 or not is_decimal(parts[3]):
        return None
    schedule = parse_schedule(".".join(parts[:2]), practitioners, services)
    visit_type = key_of(parts[2], visit_types)
    try:
        start = datetime.strptime(parts[4], "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None
    if schedule is None or visit_type is None or not 0 < int(parts[3]) <= 1440:
        return None
    return SlotKey(schedule[0], schedule[1], visit_type, int(parts[3]), start)
