"""The plain Mailer (sign-in links, waitlist mails) over the clinic's email senders: a real
SMTP conversation on loopback, and the local .eml mailbox."""

from __future__ import annotations

import os
import re
import stat
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from clinicflow.adapters.messaging.mailbox import MailboxEmail
from clinicflow.adapters.messaging.plain import PlainMailer
from clinicflow.adapters.messaging.smtp_email import SmtpEmail
from clinicflow.identity import Mailer
from clinicflow.shared.clock import FixedClock
from support.fake_smtp import FakeSmtpRelay

SENDER = "Clinic <no-reply@clinic.example>"
TO = "patient@example.org"
SUBJECT = "Your sign-in link"
TEXT = "Open https://clinic.example/sign-in/abc to sign in. Ärztin Jörg says hello."


def _parse(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


async def test_smtp_mailer_delivers_recipient_subject_and_body(
    smtp_server: FakeSmtpRelay, clock: FixedClock
) -> None:
    smtp = SmtpEmail("127.0.0.1", smtp_server.port, SENDER, timeout=5, clock=clock)
    mailer: Mailer = PlainMailer(smtp)

    await mailer.send(TO, SUBJECT, TEXT)

    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "no-reply@clinic.example"
    assert envelope.rcpt_tos == [TO]
    message = _parse(envelope.original_content)
    assert message["Subject"] == SUBJECT
    assert message["To"] == TO
    assert message["Date"].datetime == clock.now()
    body = message.get_body()
    assert body is not None
    assert body.get_content().strip() == TEXT


def test_smtp_mailer_repr_hides_the_password() -> None:
    mailer = PlainMailer(
        SmtpEmail("smtp.example", 587, SENDER, "user", "hunter2-secret", starttls=True)
    )

    assert "hunter2" not in repr(mailer)


async def test_mailbox_mailer_writes_a_private_parseable_eml(
    tmp_path: Path, clock: FixedClock
) -> None:
    mailbox = tmp_path / "mail"
    mailer: Mailer = PlainMailer(MailboxEmail(mailbox, SENDER, clock=clock))

    await mailer.send(TO, SUBJECT, TEXT)
    await mailer.send(TO, "Second", "Another")

    files = sorted(mailbox.iterdir())
    assert len(files) == 2
    assert stat.S_IMODE(mailbox.stat().st_mode) == 0o700
    for file in files:
        assert re.fullmatch(r"20261124T150000000000Z-[0-9a-f-]{36}\.eml", file.name)
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    subjects = set()
    for file in files:
        message = _parse(file.read_bytes())
        assert message["To"] == TO
        assert message["From"] == SENDER
        assert message["Message-ID"]
        subjects.add(message["Subject"])
        if message["Subject"] == SUBJECT:
            body = message.get_body()
            assert body is not None
            assert body.get_content().strip() == TEXT
    assert subjects == {SUBJECT, "Second"}


async def test_mailbox_mailer_refuses_a_header_injection(tmp_path: Path) -> None:
    mailer = PlainMailer(MailboxEmail(tmp_path, SENDER))

    with pytest.raises(ValueError, match="linefeed"):
        await mailer.send(TO, "Hi\nBcc: everyone@example.org", TEXT)
    assert os.listdir(tmp_path) == []
