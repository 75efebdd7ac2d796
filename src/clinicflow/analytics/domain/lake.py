"""What of an event may enter the lake: a whitelist of payload fields per event family, each
with the form it takes there. A field not listed never enters, whatever it holds, so a new
payload field (a name, a note) stays out until someone lists it here on purpose.

People appear only as keyed hashes (`Pseudonyms`): HMAC-SHA256 under a key derived from the
key ring's blind-index key, so the lake cannot be joined back to a patient without that key,
and the same patient has the same key in every batch and every rebuild. Where a patient is
named, three coarse traits come with the row (ZIP3, age band at the event, referral source);
a de-identified patient has none of them, and no key either.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum

from clinicflow.analytics.domain.safe_harbor import age_band, zip3

Value = str | int | datetime | list[str] | None
Row = dict[str, Value]

DEIDENTIFIED = "patient.deidentified"


class Kind(Enum):
    ID = "id"  # a record's id (booking, order …): kept as it is
    PATIENT = "patient"  # a patient's id: its keyed hash
    CONTACT = "contact"  # a waitlist entry (a person who may not be a patient): keyed hash
    WORD = "word"  # a short token: a service key, a status, a currency; anything else: dropped
    INT = "int"
    INSTANT = "instant"  # an ISO 8601 instant, kept in UTC
    IDS = "ids"  # a list of record ids


# Every column of the lake's `events` table, in order: the event's own columns, then the
# whitelisted facts, then the patient's traits. The adapter types each by its kind.
CORE: tuple[tuple[str, Kind], ...] = (
    ("seq", Kind.INT),
    ("event_id", Kind.ID),
    ("type", Kind.WORD),
    ("version", Kind.INT),
    ("occurred_at", Kind.INSTANT),
    ("recorded_at", Kind.INSTANT),
)
FACTS: tuple[tuple[str, Kind], ...] = (
    ("patient_key", Kind.PATIENT),
    ("contact_key", Kind.CONTACT),
    ("booking_id", Kind.ID),
    ("order_id", Kind.ID),
    ("refund_id", Kind.ID),
    ("offer_id", Kind.ID),
    ("invitation_id", Kind.ID),
    ("booking_ids", Kind.IDS),
    ("service", Kind.WORD),
    ("visit_type", Kind.WORD),
    ("practitioner", Kind.WORD),
    ("status", Kind.WORD),
    ("method", Kind.WORD),
    ("provider", Kind.WORD),
    ("currency", Kind.WORD),
    ("failure_code", Kind.WORD),
    ("campaign", Kind.WORD),
    ("via", Kind.WORD),
    ("withdrawn_by", Kind.WORD),
    ("duration_min", Kind.INT),
    ("total_cents", Kind.INT),
    ("refunded_cents", Kind.INT),
    ("amount_cents", Kind.INT),
    ("interest_level", Kind.INT),
    ("wave", Kind.INT),
    ("start_at", Kind.INSTANT),
    ("end_at", Kind.INSTANT),
    ("previous_start_at", Kind.INSTANT),
    ("previous_practitioner", Kind.WORD),
    ("joined_at", Kind.INSTANT),
    ("expires_at", Kind.INSTANT),
)
TRAITS: tuple[tuple[str, Kind], ...] = (
    ("zip3", Kind.WORD),
    ("age_band", Kind.WORD),
    ("source", Kind.WORD),
)
COLUMNS = CORE + FACTS + TRAITS
TRAIT_COLUMNS = ("patient_key", *(name for name, _ in TRAITS))
_KIND = dict(COLUMNS)

_BOOKING = {
    "booking_id": "booking_id",
    "status": "status",
    "service": "service",
    "visit_type": "visit_type",
    "duration": "duration_min",
    "practitioner": "practitioner",
    "patient_id": "patient_key",
    "start": "start_at",
    "end": "end_at",
    "previous.start": "previous_start_at",
    "previous.practitioner": "previous_practitioner",
}  # never "reason": a cancellation's reason is free text
_PAYMENT = {
    "order_id": "order_id",
    "patient_id": "patient_key",
    "status": "status",
    "method": "method",
    "provider": "provider",
    "total_cents": "total_cents",
    "refunded_cents": "refunded_cents",
    "currency": "currency",
    "booking_ids": "booking_ids",
    "failure_code": "failure_code",
    "refund_id": "refund_id",
    "amount_cents": "amount_cents",
    "booking_id": "booking_id",
}
_WAITLIST = {
    "entry_id": "contact_key",
    "service": "service",
    "status": "status",
    "interest_level": "interest_level",
    "campaign": "campaign",
    "joined_at": "joined_at",
    "via": "via",
    "by": "withdrawn_by",
    "booking_id": "booking_id",
    "patient_id": "patient_key",
    "start": "start_at",
    "invitation_id": "invitation_id",
    "wave": "wave",
    "expires_at": "expires_at",
    "offer_id": "offer_id",
    "visit_type": "visit_type",
    "duration": "duration_min",
    "practitioner": "practitioner",
}
# Payload field (a dotted path into a nested object) -> lake column, per event family (the
# type's first part). A family not listed enters with its core columns only.
WHITELIST: dict[str, dict[str, str]] = {
    "booking": _BOOKING,
    "payment": _PAYMENT,
    "waitlist": _WAITLIST,
    "service": {"service": "service"},
    "patient": {"patient_id": "patient_key"},
}

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


@dataclass(frozen=True, slots=True)
class PatientTraits:
    """What the patients context tells the lake writer about one patient, read at write
    time. The ZIP and birth date are coarsened here (`traits_row`) and never stored."""

    zip_code: str | None = None
    birth_date: date | None = None
    source: str | None = None  # referral source: patient, practitioner, campaign, other
    deidentified: bool = False


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """One recorded event, with its place in the recorded order."""

    seq: int
    event_id: str
    type: str
    version: int
    occurred_at: datetime
    recorded_at: datetime
    payload: Mapping[str, object]


class Pseudonyms:
    """Keyed hashes of people's ids. `key`: 32 bytes derived from the key ring's blind-index
    key (bootstrap); without it nobody can tell which hash is whose."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def of(self, kind: Kind, raw: str) -> str:
        message = f"{kind.value}\x00{raw}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def patient_ids(events: Iterable[SourceEvent]) -> set[str]:
    """The patients the events name: the writer asks for their traits."""
    found: set[str] = set()
    for event in events:
        raw = event.payload.get("patient_id")
        if isinstance(raw, str) and _ID.fullmatch(raw):
            found.add(raw)
    return found


def lake_row(event: SourceEvent, names: Pseudonyms, traits: Mapping[str, PatientTraits]) -> Row:
    """The event as the lake keeps it: core columns, whitelisted facts, the patient's traits."""
    row: Row = dict.fromkeys(name for name, _ in COLUMNS)
    row.update(
        seq=event.seq,
        event_id=event.event_id,
        type=event.type,
        version=event.version,
        occurred_at=event.occurred_at.astimezone(UTC),
        recorded_at=event.recorded_at.astimezone(UTC),
    )
    for path, column in WHITELIST.get(event.type.partition(".")[0], {}).items():
        row[column] = _shaped(_KIND[column], _at(event.payload, path), names)
    raw_patient = event.payload.get("patient_id")
    if row["patient_key"] is not None and isinstance(raw_patient, str):
        row.update(traits_row(traits.get(raw_patient), event.occurred_at))
    return row


def traits_row(traits: PatientTraits | None, at: datetime) -> Row:
    """A patient's coarse traits on a row; all None (the key too) once de-identified."""
    if traits is not None and traits.deidentified:
        return dict.fromkeys(TRAIT_COLUMNS)
    if traits is None:
        return {}
    source = traits.source if traits.source and _WORD.fullmatch(traits.source) else None
    return {
        "zip3": zip3(traits.zip_code),
        "age_band": age_band(traits.birth_date, at),
        "source": source,
    }


def forgotten(
    events: Iterable[SourceEvent], names: Pseudonyms, traits: Mapping[str, PatientTraits]
) -> set[str]:
    """The keys the lake must forget after these events: patients de-identified by one of
    them, and patients the batch names who are de-identified already (their rows written
    before it must lose them too, even if the de-identification's own event is gone)."""
    ids = {
        str(event.payload["patient_id"])
        for event in events
        if event.type == DEIDENTIFIED and isinstance(event.payload.get("patient_id"), str)
    }
    ids |= {pid for pid, known in traits.items() if known.deidentified}
    return {names.of(Kind.PATIENT, pid) for pid in ids if _ID.fullmatch(pid)}


def forget(row: Row, keys: set[str]) -> Row:
    """`row` without the person in it when its patient is one of `keys`: the key and the
    traits go; the facts (a visit happened, a payment was made) stay for the counts."""
    if row["patient_key"] in keys:
        return {**row, **dict.fromkeys(TRAIT_COLUMNS)}
    return row


def _at(payload: Mapping[str, object], path: str) -> object:
    head, _, rest = path.partition(".")
    found = payload.get(head)
    if not rest:
        return found
    return found.get(rest) if isinstance(found, Mapping) else None


def _shaped(kind: Kind, raw: object, names: Pseudonyms) -> Value:
    """`raw` in the column's form, or None when it does not have that form."""
    if kind is Kind.INT:
        return raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    if kind is Kind.IDS:
        ids = raw if isinstance(raw, list) else []
        return [x for x in ids if isinstance(x, str) and _ID.fullmatch(x)]
    if not isinstance(raw, str):
        return None
    if kind is Kind.INSTANT:
        return _instant(raw)
    if kind is Kind.WORD:
        return raw if _WORD.fullmatch(raw) else None
    if not _ID.fullmatch(raw):
        return None
    return raw if kind is Kind.ID else names.of(kind, raw)


def _instant(raw: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
