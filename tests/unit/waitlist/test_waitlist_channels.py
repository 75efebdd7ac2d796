"""Channels and consent: texts only with explicit consent, and consent timed per channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clinicflow.waitlist.domain.channels import chosen, consent, default_channels, problems

AT = datetime(2026, 11, 24, 15, tzinfo=UTC)


def test_texts_need_a_phone_and_explicit_consent() -> None:
    assert problems(["sms"], True, True, sms_consent=True) == []
    fields = [field for field, _ in problems(["sms"], True, False, sms_consent=False)]
    assert fields == ["channels", "sms_consent"]


def test_the_default_is_email_else_a_call_never_texts() -> None:
    assert default_channels(True, True) == ("email",)
    assert default_channels(False, True) == ("phone",)


def test_consent_is_stamped_when_given_and_when_withdrawn() -> None:
    given = consent({}, ["email", "sms"], AT)
    later = AT + timedelta(days=1)
    changed = consent(given, ["email"], later)

    assert chosen(given) == ["email", "sms"]
    assert changed["email"] == given["email"]  # restated: its time is kept
    assert changed["sms"] == {
        "opt_in": False,
        "consent_at": AT.isoformat(),
        "withdrawn_at": later.isoformat(),
    }
    assert "phone" not in changed
