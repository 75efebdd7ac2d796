"""The official HL7 R4 examples of the six scheduling resources parse and validate with the
R4B models of fhir.resources (the files and their sources: tests/fixtures/fhir/README.md),
and the checker refuses what is not valid (so a pass means something). The models
check structure, cardinality and primitive formats, not the codes of value sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from support.fhir import validated

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "fhir"
SIX = ("Patient", "Practitioner", "HealthcareService", "Schedule", "Slot", "Appointment")


@pytest.mark.parametrize("kind", SIX)
def test_the_official_example_validates_with_the_r4b_model(kind: str) -> None:
    raw = json.loads((EXAMPLES / f"{kind.lower()}-example.json").read_text(encoding="utf-8"))
    model = validated(raw)
    assert model.get_resource_type() == kind
    again = json.loads(model.model_dump_json(by_alias=True, exclude_none=True))
    assert again["id"] == "example"
    assert again.get("status", None) == raw.get("status", None)


def test_a_slot_without_its_schedule_or_with_a_malformed_start_is_refused() -> None:
    raw = json.loads((EXAMPLES / "slot-example.json").read_text(encoding="utf-8"))
    with pytest.raises(ValidationError):
        validated({k: v for k, v in raw.items() if k != "schedule"})
    with pytest.raises(ValidationError):
        validated({**raw, "start": "Christmas morning"})


def test_an_appointment_without_participants_is_refused() -> None:
    raw = json.loads((EXAMPLES / "appointment-example.json").read_text(encoding="utf-8"))
    with pytest.raises(ValidationError):
        validated({k: v for k, v in raw.items() if k != "participant"})
