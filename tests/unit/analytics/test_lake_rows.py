"""What of an event enters the lake: whitelisted facts in their form, people as keyed
hashes, ZIP3 and age bands by HIPAA Safe Harbor, nothing else."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from clinicflow.analytics.domain.lake import (
    Kind,
    PatientTraits,
    Pseudonyms,
    SourceEvent,
    forgotten,
    lake_row,
)
from clinicflow.analytics.domain.safe_harbor import age_band, zip3

AT = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
NAMES = Pseudonyms(b"k" * 32)


def _event(type_: str, **payload: object) -> SourceEvent:
    return SourceEvent(1, "e-1", type_, 1, AT, AT, payload)


@pytest.mark.parametrize(
    ("zip_code", "expected"),
    [("60614", "606"), ("60614-1234", "606"), ("03601", "000"), ("89301", "000"),
     ("SW1A 1AA", None), ("1234", None), (None, None)],
)  # fmt: skip
def test_zip3_keeps_three_digits_and_blanks_the_small_areas(
    zip_code: str | None, expected: str | None
) -> None:
    assert zip3(zip_code) == expected


@pytest.mark.parametrize(
    ("born", "expected"),
    [(date(2008, 11, 25), "0-17"), (date(2008, 11, 24), "18-24"), (date(1981, 6, 15), "45-54"),
     (date(1937, 1, 1), "75-89"), (date(1936, 11, 24), "90+"), (date(2027, 1, 1), None)],
)  # fmt: skip
def test_age_band_on_the_events_day(born: date, expected: str | None) -> None:
    assert age_band(born, AT) == expected


def test_only_whitelisted_fields_enter_and_people_become_keyed_hashes() -> None:
    event = _event(
        "booking.cancelled",
        booking_id="b-1",
        patient_id="p-1",
        service="massage",
        reason="Jane Doe called, she has the flu",
        start="2026-11-25T10:00:00-06:00",
        practitioner="Dr Jane Doe <jane@example.org>",  # not a token: dropped
        first_name="Jane",
    )
    traits = {"p-1": PatientTraits("60614", date(1981, 6, 15), "campaign")}
    row = lake_row(event, NAMES, traits)
    assert row["patient_key"] == NAMES.of(Kind.PATIENT, "p-1") != "p-1"
    assert (row["booking_id"], row["service"], row["practitioner"]) == ("b-1", "massage", None)
    assert row["start_at"] == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    assert (row["zip3"], row["age_band"], row["source"]) == ("606", "45-54", "campaign")
    assert "Jane" not in repr(row)
    assert "reason" not in row
    assert "first_name" not in row


def test_a_deidentified_patient_has_no_key_and_is_forgotten_everywhere() -> None:
    traits = {"p-1": PatientTraits("60614", date(1981, 6, 15), "campaign", deidentified=True)}
    row = lake_row(_event("payment.succeeded", patient_id="p-1", total_cents=9000), NAMES, traits)
    assert (row["patient_key"], row["zip3"], row["total_cents"]) == (None, None, 9000)
    gone = _event("patient.deidentified", patient_id="p-2")
    assert forgotten([gone], NAMES, traits) == {
        NAMES.of(Kind.PATIENT, "p-1"),
        NAMES.of(Kind.PATIENT, "p-2"),
    }
