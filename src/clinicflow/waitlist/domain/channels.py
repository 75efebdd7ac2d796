"""How a person on the waitlist wants to be reached, and the consent that goes with it.

Texts need the person's explicit consent (TCPA): `sms` is accepted as a channel only with
`sms_consent` true. Consent is recorded per channel with the time it was given or withdrawn,
in the same shape as a patient's `contact_prefs`, so it carries over on conversion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

CHANNELS: tuple[str, ...] = ("email", "sms", "phone")  # phone: a call from the front desk
_NEEDS = {"email": "email", "sms": "phone", "phone": "phone"}

Prefs = Mapping[str, Mapping[str, object]]


def default_channels(has_email: bool, has_phone: bool) -> tuple[str, ...]:
    """Without a choice: email when given, else a call. Never texts: they need consent."""
    return ("email",) if has_email else ("phone",) if has_phone else ()


def problems(
    channels: Sequence[str], has_email: bool, has_phone: bool, sms_consent: bool
) -> list[tuple[str, str]]:
    """(field, what to change) for every channel that cannot work as asked."""
    found: list[tuple[str, str]] = []
    if not channels:
        found.append(("channels", "give at least one of email, sms or phone"))
    given = {"email": has_email, "phone": has_phone}
    for channel in channels:
        if not given[_NEEDS[channel]]:
            found.append(
                ("channels", f"{channel} needs a{'n' if channel == 'email' else ''} "
                 f"{_NEEDS[channel]}; give one or drop {channel}")
            )  # fmt: skip
    if "sms" in channels and not sms_consent:
        found.append(
            ("sms_consent", "texts are sent only with explicit consent: set sms_consent to "
             "true, or drop sms from channels")
        )  # fmt: skip
    return found


def consent(current: Prefs, wanted: Sequence[str], now: datetime) -> dict[str, dict[str, object]]:
    """Per channel: opted in (with when consent was given) or out (with when withdrawn).
    Re-stating the same choice keeps its time."""
    prefs = {k: dict(v) for k, v in current.items()}
    stamp = now.isoformat()
    for channel in CHANNELS:
        opt_in = channel in wanted
        before = prefs.get(channel)
        if before is not None and bool(before.get("opt_in")) == opt_in:
            continue
        if opt_in:
            prefs[channel] = {"opt_in": True, "consent_at": stamp, "withdrawn_at": None}
        elif before is not None:
            prefs[channel] = {**before, "opt_in": False, "withdrawn_at": stamp}
    return prefs


def chosen(prefs: Prefs) -> list[str]:
    return [c for c in CHANNELS if (prefs.get(c) or {}).get("opt_in")]


def channel_values(
    current: Prefs,
    channels: Sequence[str] | None,
    sms_consent: bool | None,
    has_email: bool,
    has_phone: bool,
    now: datetime,
) -> tuple[dict[str, dict[str, object]], list[tuple[str, str]]]:
    """The consent record after a join or a change, or the problems that stop it.
    `channels`/`sms_consent`: None when not given; withdrawing SMS consent alone drops SMS
    from the channels."""
    before = chosen(current)
    wanted: Sequence[str]
    if channels is not None:
        wanted = list(dict.fromkeys(channels))
    elif not current:
        wanted = default_channels(has_email, has_phone)
    else:
        wanted = before
    consent_given = "sms" in before if sms_consent is None else sms_consent
    if sms_consent is False and channels is None:
        wanted = [c for c in wanted if c != "sms"]
    found = problems(wanted, has_email, has_phone, consent_given)
    if found:
        return {}, found
    return consent(current, wanted, now), []
