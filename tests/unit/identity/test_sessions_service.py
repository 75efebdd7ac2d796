"""Sessions and patients' one-time sign-in links on the in-memory unit of work: when a
session stops working, what using it records, and a link's single use and expiry.

The HTTP side (cookies, problem+json, the link's email on disk): tests/integration/
test_identity_sessions.py; one link redeemed twice at once is the database's conditional
update, tested there on both databases.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import timedelta

import pytest

from clinicflow.identity.domain.tokens import digest
from clinicflow.identity.errors import TokenInvalid
from support.fake_identity import FakeIdentity

PASSWORD = "correct horse battery staple"
PATIENT = "3c9e5a3e-0000-4000-8000-000000000001"


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


async def staff_token(identity: FakeIdentity) -> str:
    await identity.users.create("desk", "front_desk", PASSWORD)
    opened, _ = await identity.users.login("desk", PASSWORD, None)
    return opened.token


# --- sessions ----------------------------------------------------------------------------


async def test_only_the_token_s_digest_is_stored(identity: FakeIdentity) -> None:
    token = await staff_token(identity)

    assert list(identity.state.sessions) == [digest(token)]
    assert token not in repr(identity.state.sessions)


async def test_a_session_works_until_fifteen_idle_minutes(identity: FakeIdentity) -> None:
    token = await staff_token(identity)

    identity.clock.advance(timedelta(minutes=14, seconds=59))
    assert (await identity.sessions.resolve(token)).role == "front_desk"

    identity.clock.advance(timedelta(minutes=15))
    with pytest.raises(TokenInvalid, match="inactivity"):
        await identity.sessions.resolve(token)


async def test_each_use_restarts_the_idle_timer_recorded_at_most_once_a_minute(
    identity: FakeIdentity,
) -> None:
    token = await staff_token(identity)
    key = digest(token)
    opened_at = identity.clock.now()

    identity.clock.advance(timedelta(seconds=59))
    await identity.sessions.resolve(token)
    assert identity.state.sessions[key].last_seen_at == opened_at  # not worth a write yet
    commits = identity.ledger.commits

    identity.clock.advance(timedelta(seconds=1))
    await identity.sessions.resolve(token)
    assert identity.state.sessions[key].last_seen_at == identity.clock.now()
    assert identity.ledger.commits == commits + 1

    for _ in range(3):
        identity.clock.advance(timedelta(minutes=10))
        await identity.sessions.resolve(token)  # 31 minutes in, never 15 idle


async def test_uses_within_the_minute_do_not_extend_the_session(identity: FakeIdentity) -> None:
    token = await staff_token(identity)
    identity.clock.advance(timedelta(seconds=59))
    await identity.sessions.resolve(token)

    identity.clock.advance(timedelta(minutes=15) - timedelta(seconds=59))

    with pytest.raises(TokenInvalid, match="inactivity"):
        await identity.sessions.resolve(token)


async def test_a_session_ends_at_its_lifetime_however_often_it_is_used(
    identity: FakeIdentity,
) -> None:
    token = await staff_token(identity)
    for _ in range(identity.lifetime // timedelta(minutes=10) - 1):
        identity.clock.advance(timedelta(minutes=10))
        await identity.sessions.resolve(token)

    identity.clock.advance(timedelta(minutes=10))

    with pytest.raises(TokenInvalid, match="maximum lifetime"):
        await identity.sessions.resolve(token)


async def test_signing_out_ends_the_session_once(identity: FakeIdentity) -> None:
    token = await staff_token(identity)

    await identity.sessions.revoke(token)
    revoked_at = identity.state.sessions[digest(token)].revoked_at
    identity.clock.advance(timedelta(minutes=1))
    await identity.sessions.revoke(token)  # again: the first time stands

    assert (
        identity.state.sessions[digest(token)].revoked_at
        == revoked_at
        == (identity.clock.now() - timedelta(minutes=1))
    )
    with pytest.raises(TokenInvalid, match="signed out"):
        await identity.sessions.resolve(token)


async def test_an_unknown_token_is_refused(identity: FakeIdentity) -> None:
    with pytest.raises(TokenInvalid, match="unknown session"):
        await identity.sessions.resolve("cfs_made-up")


async def test_a_disabled_account_s_session_stops_at_once(identity: FakeIdentity) -> None:
    token = await staff_token(identity)
    desk = identity.user("desk")
    # Disabled without its sessions being revoked (as a direct database change would):
    # the account's state is read with the session on every use.
    identity.state.users[desk.id] = dataclasses.replace(desk, active=False)

    with pytest.raises(TokenInvalid, match="account is disabled"):
        await identity.sessions.resolve(token)


async def test_a_session_acts_with_the_account_s_role_as_it_is_now(
    identity: FakeIdentity,
) -> None:
    await identity.users.create("doc", "practitioner", PASSWORD, practitioner="doctor1")
    opened, user = await identity.users.login("doc", PASSWORD, None)

    owner = await identity.sessions.resolve(opened.token)

    assert (owner.kind, owner.user_id, owner.role, owner.practitioner, owner.patient_id) == (
        "staff",
        user.id,
        "practitioner",
        "doctor1",
        None,
    )


async def test_a_patient_session_acts_for_its_patient(identity: FakeIdentity) -> None:
    opened = await identity.sessions.open_for_patient(PATIENT)

    owner = await identity.sessions.resolve(opened.token)

    assert (owner.kind, owner.patient_id, owner.user_id, owner.role) == (
        "patient",
        PATIENT,
        None,
        None,
    )
    assert opened.expires_at == identity.clock.now() + identity.lifetime


# --- patients' one-time sign-in links ----------------------------------------------------


def link_token(text: str) -> str:
    found = re.search(r"https://clinic\.test/sign-in\?token=(cfl_[A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


async def requested(identity: FakeIdentity, email: str = "pat@example.com") -> str:
    identity.state.patients[email] = PATIENT
    send = await identity.links.request(email)
    assert send is not None
    await send()
    (to, _subject, text) = identity.mailer.sent[-1]
    assert to == email
    return link_token(text)


async def test_a_link_is_sent_after_the_answer_and_only_its_digest_is_kept(
    identity: FakeIdentity,
) -> None:
    identity.state.patients["pat@example.com"] = PATIENT

    send = await identity.links.request("pat@example.com")

    assert send is not None
    assert identity.mailer.sent == []
    ((key, link),) = identity.state.links.items()
    assert (link.patient_id, link.used_at) == (PATIENT, None)
    assert link.expires_at == identity.clock.now() + timedelta(minutes=15)
    await send()
    ((_, subject, text),) = identity.mailer.sent
    assert subject == "Your sign-in link for Clinic Test"
    assert "It works once, for 15 minutes" in text
    assert digest(link_token(text)) == key


async def test_an_unknown_email_gets_no_link_and_no_mail(identity: FakeIdentity) -> None:
    assert await identity.links.request("nobody@example.com") is None

    assert identity.state.links == {}
    assert identity.ledger.commits == 0


async def test_a_link_opens_a_patient_session_once(identity: FakeIdentity) -> None:
    token = await requested(identity)

    opened, patient_id = await identity.links.redeem(token)

    assert patient_id == PATIENT
    assert (await identity.sessions.resolve(opened.token)).patient_id == PATIENT
    with pytest.raises(TokenInvalid, match="already used"):
        await identity.links.redeem(token)
    assert len(identity.state.sessions) == 1


async def test_a_link_expires_after_its_lifetime(identity: FakeIdentity) -> None:
    token = await requested(identity)
    identity.clock.advance(timedelta(minutes=14, seconds=59))
    assert await identity.links.redeem(token)

    late = await requested(identity)
    identity.clock.advance(timedelta(minutes=15))

    with pytest.raises(TokenInvalid, match="expired"):
        await identity.links.redeem(late)
    assert identity.state.links[digest(late)].used_at is None  # refused: nothing changed


async def test_a_made_up_link_is_refused(identity: FakeIdentity) -> None:
    with pytest.raises(TokenInvalid, match="unknown sign-in link"):
        await identity.links.redeem("cfl_made-up-token")

    assert identity.state.sessions == {}


async def test_a_link_that_cannot_be_delivered_is_logged_not_raised(
    identity: FakeIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    identity.state.patients["pat@example.com"] = PATIENT
    identity.mailer.failing = True
    send = await identity.links.request("pat@example.com")
    assert send is not None

    with caplog.at_level(logging.ERROR):
        await send()  # the answer has left already: nothing to raise to

    assert identity.mailer.sent == []
    assert "signin_link_not_delivered" in caplog.text
    assert "ConnectionError" in caplog.text
    assert "pat@example.com" not in caplog.text  # no PHI in logs
