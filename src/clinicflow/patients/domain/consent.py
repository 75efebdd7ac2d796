"""Consent to be contacted, per channel, and when it was given or withdrawn.

A text of STOP (or START) to the clinic's number changes every patient with that number
(family members often share a phone, and the phone's owner asked for no more texts). START
gives consent back only to those who had given it and then withdrawn it: it never opts in
someone who never agreed to texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from clinicflow.patients.domain.patient import ChannelConsent, Prefs

SMS = "sms"


def timed(current: Prefs, wanted: Mapping[str, bool], now: datetime) -> Prefs:
    """Per channel: opt-in with the time consent was given, or the time it was withdrawn.
    A channel not mentioned keeps its state; re-stating the same choice keeps its time."""
    prefs: Prefs = {k: ChannelConsent(**v) for k, v in current.items()}
    for channel, opt_in in wanted.items():
        before = prefs.get(channel, ChannelConsent())
        if bool(before.get("opt_in")) == opt_in and before:
            continue
        stamp = now.isoformat()
        prefs[channel] = (
            ChannelConsent(opt_in=True, consent_at=stamp, withdrawn_at=None)
            if opt_in
            else ChannelConsent(
                opt_in=False, consent_at=before.get("consent_at"), withdrawn_at=stamp
            )
        )
    return prefs


def texted(current: Prefs, opt_in: bool, at: datetime) -> Prefs | None:
    """The preferences after a START (`opt_in`) or STOP texted at `at`; None when nothing
    changes (a repeated STOP changes nothing, not even the time)."""
    if opt_in and not _withdrawn_after_consent(current):
        return None
    wanted = timed(current, {SMS: opt_in}, at)
    return None if wanted == current else wanted


def _withdrawn_after_consent(prefs: Prefs) -> bool:
    entry = prefs.get(SMS) or ChannelConsent()
    return bool(entry.get("consent_at")) and not entry.get("opt_in")


@dataclass(frozen=True, slots=True)
class Consents:
    """A record's consents, without the rest of it (the minimum a STOP needs)."""

    patient_id: str
    prefs: Prefs
    version: int
