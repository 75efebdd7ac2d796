"""`clinicflow users|apikeys|oauth …` against a migrated SQLite file."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinicflow.bootstrap import build
from clinicflow.cli import app
from clinicflow.identity import ApiKeyView
from clinicflow.identity.errors import TokenInvalid
from clinicflow.settings import Settings
from support.cli_runner import migrated_cli, ok

PASSWORD = "correct horse battery staple"
KEY = re.compile(r"^cfk_[A-Za-z0-9]{12}_\S+$", re.MULTILINE)
CREATE_KEY = ["apikeys", "create", "--name", "EHR sync", "--owner", "it@example.com"]
CREATE_KEY += ["--scope", "bookings:read", "--scope", "patients:read"]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    return migrated_cli(tmp_path, monkeypatch)


def _new_key(cli: CliRunner) -> str:
    made = cli.invoke(app, CREATE_KEY)
    ok(made)
    found = KEY.search(made.stdout)
    assert found, made.output
    return found.group(0)


def _authenticate(key: str) -> ApiKeyView:
    async def go() -> ApiKeyView:
        container = build(Settings())
        try:
            return await container.identity.apikeys.authenticate(key)
        finally:
            await container.aclose()

    return asyncio.run(go())


def test_create_a_front_desk_user_from_stdin_then_list_it(cli: CliRunner) -> None:
    made = cli.invoke(
        app,
        ["users", "create", "ana", "--role", "front_desk", "--password-stdin"],
        input=f"{PASSWORD}\n",
    )
    out = ok(made)
    assert re.search(r"id [0-9a-f-]{36}", out)
    assert "otpauth://" not in out

    listed = ok(cli.invoke(app, ["users", "list"]))
    assert "ana" in listed
    assert "front_desk" in listed


def test_an_admin_always_gets_a_totp_uri(cli: CliRunner) -> None:
    made = cli.invoke(
        app, ["users", "create", "root", "--role", "admin", "--password-stdin"], input=PASSWORD
    )
    out = ok(made)
    assert "otpauth://totp/" in made.stdout
    assert "shown once" in out
    assert "authenticator app" in out

    again = ok(cli.invoke(app, ["users", "totp", "root"]))
    assert "otpauth://totp/" in again


def test_a_short_password_is_refused_with_the_policy(cli: CliRunner) -> None:
    made = cli.invoke(
        app, ["users", "create", "ben", "--role", "billing", "--password-stdin"], input="short\n"
    )
    assert made.exit_code == 1
    assert "Use at least 12 characters" in made.output
    assert "Traceback" not in made.output
    assert made.output.count("\n") == 1  # one line


def test_disable_and_enable_a_user(cli: CliRunner) -> None:
    cli.invoke(
        app, ["users", "create", "cy", "--role", "analyst", "--password-stdin"], input=PASSWORD
    )
    assert "their sessions were ended" in ok(cli.invoke(app, ["users", "disable", "cy"]))
    assert " no " in ok(cli.invoke(app, ["users", "list"]))
    ok(cli.invoke(app, ["users", "enable", "cy"]))
    missing = cli.invoke(app, ["users", "disable", "nobody"])
    assert missing.exit_code == 1
    assert "no user named 'nobody'" in missing.output


def test_an_api_key_is_shown_once_and_revoking_it_stops_it(cli: CliRunner) -> None:
    key = _new_key(cli)
    key_id = key.split("_")[1]
    assert _authenticate(key).id == key_id

    listed = ok(cli.invoke(app, ["apikeys", "list"]))
    assert key_id in listed
    assert key.split("_", 2)[2] not in listed
    assert "active" in listed

    ok(cli.invoke(app, ["apikeys", "revoke", key_id]))
    with pytest.raises(TokenInvalid):
        _authenticate(key)
    assert "revoked" in ok(cli.invoke(app, ["apikeys", "list"]))


def test_an_unknown_scope_is_refused(cli: CliRunner) -> None:
    made = cli.invoke(
        app, ["apikeys", "create", "--name", "x", "--owner", "y", "--scope", "everything"]
    )
    assert made.exit_code == 1
    assert "unknown" in made.output


def test_rotate_keeps_the_old_key_through_the_grace_period(cli: CliRunner) -> None:
    old = _new_key(cli)
    old_id = old.split("_")[1]
    rotated = cli.invoke(app, ["apikeys", "rotate", old_id])
    new = KEY.search(rotated.stdout)
    assert new, rotated.output
    assert "keeps working until" in ok(rotated)
    assert _authenticate(old).id == old_id
    assert _authenticate(new.group(0)).scopes == ("bookings:read", "patients:read")

    again = cli.invoke(app, ["apikeys", "rotate", new.group(0).split("_")[1], "--grace-hours", "0"])
    newest = KEY.search(again.stdout)
    assert newest, again.output
    with pytest.raises(TokenInvalid):
        _authenticate(new.group(0))
    assert _authenticate(newest.group(0))


def test_rotate_two_signing_keys_retire_the_older_never_the_newest(cli: CliRunner) -> None:
    kids = []
    for _ in range(2):
        rotated = ok(cli.invoke(app, ["oauth", "rotate-key"]))
        assert "keep verifying" in rotated
        found = re.search(r"new signing key (\S+);", rotated)
        assert found
        kids.append(found.group(1))

    listed = ok(cli.invoke(app, ["oauth", "keys"]))
    assert all(kid in listed for kid in kids)

    # `--` because a kid may begin with "-".
    ok(cli.invoke(app, ["oauth", "retire-key", "--", kids[0]]))
    assert kids[0] not in ok(cli.invoke(app, ["oauth", "keys"]))
    refused = cli.invoke(app, ["oauth", "retire-key", "--", kids[1]])
    assert refused.exit_code == 1
    assert "rotate first" in refused.output
