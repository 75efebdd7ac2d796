"""A missing or incomplete key file stops every process that would touch sealed data, through
the real `clinicflow` command; a new ring is made only on first set-up or by `keys init`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clinicflow.bootstrap._keys import open_keys
from clinicflow.infra.crypto import KeysUnavailable, load, save
from clinicflow.infra.db import Database
from clinicflow.patients import PatientDetails, PatientDirectory
from support import forked_cli
from support.db import written
from support.migrated import migrated
from support.serving_process import free_port

# Each test runs `clinicflow` as a process, a few seconds of CPU each (tests/support/scheduling.py).
# One fork server a run: tests that fork clinicflow run in one group (support/scheduling.py).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serial")]

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, key_file: Path | None) -> dict[str, str]:
    env = {
        **os.environ,
        "CLINICFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'clinic.sqlite3'}",
        "CLINICFLOW_DATA_DIR": str(tmp_path / "data"),
        "CLINICFLOW_CONFIG_PATH": str(ROOT / "config" / "clinic.yaml"),
    }
    env.pop("CLINICFLOW_KEYS_FILE", None)
    if key_file is not None:
        env["CLINICFLOW_KEYS_FILE"] = str(key_file)
    return env


def _cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    # `clinicflow <args>` as a process of its own, forked from one that imported clinicflow
    # once (support/forked_cli.py): what is tested happens after the imports.
    return forked_cli.run(args, env=env, timeout=timeout)


def _add_patient(env: dict[str, str], key_file: Path) -> None:
    async def go() -> None:
        db = Database(env["CLINICFLOW_DATABASE_URL"])
        try:
            async with written(db) as uow:
                conn = uow.connection
                details = PatientDetails("Ada", "Quill", "ada@example.com", "+15125550101")
                await PatientDirectory(load(key_file)).match_or_create(
                    conn, details, datetime.now(UTC)
                )
        finally:
            await db.dispose()

    asyncio.run(go())


@pytest.fixture(scope="module")
def first_set_up(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A clinic as `clinicflow db migrate` sets it up on an empty database, with one patient
    sealed since, made once per key file placement (a CLI run costs seconds of CPU); each
    test gets a copy of it."""
    made: dict[str, Path] = {}

    def clinic_dir(placement: str) -> Path:
        if placement not in made:
            root = tmp_path_factory.mktemp(f"clinic-{placement}")
            env, key_file = _placed(root, placement)
            migrated = _cli(env, "db", "migrate")
            assert migrated.returncode == 0, migrated.stderr
            assert key_file.exists()  # first set-up: an empty database gets a new ring
            _add_patient(env, key_file)
            made[placement] = root
        return made[placement]

    return clinic_dir


def _placed(root: Path, placement: str) -> tuple[dict[str, str], Path]:
    """The environment and key file of a clinic under `root`: its key file at the default
    path (under the data directory) or at an explicit CLINICFLOW_KEYS_FILE."""
    explicit = placement == "explicit"
    key_file = root / "secrets" / "ring.json" if explicit else root / "data" / "keys.json"
    return _env(root, key_file if explicit else None), key_file


@pytest.fixture(params=["default", "explicit"])
def clinic(
    request: pytest.FixtureRequest, tmp_path: Path, first_set_up: Callable[[str], Path]
) -> tuple[dict[str, str], Path]:
    """A migrated clinic with one patient sealed, this test's own copy; its key file at the
    default path (under the data directory) or at an explicit CLINICFLOW_KEYS_FILE."""
    shutil.copytree(first_set_up(request.param), tmp_path, dirs_exist_ok=True)
    return _placed(tmp_path, request.param)


def _one_line(text: str) -> str:
    return " ".join(text.split())  # rich wraps long lines


def test_serve_refuses_to_start_when_the_key_file_is_gone(
    clinic: tuple[dict[str, str], Path],
) -> None:
    env, key_file = clinic
    key_id = load(key_file).active
    key_file.unlink()

    served = _cli(env, "serve", "--port", str(free_port()))

    message = _one_line(served.stderr)
    assert served.returncode == 1, served.stderr
    assert f"the key file {key_file} is missing" in message
    assert f"key ids: {key_id}" in message
    assert "Traceback" not in served.stderr
    assert not key_file.exists()  # no new ring was made over the stored data


@pytest.mark.parametrize("clinic", ["default"], indirect=True)
@pytest.mark.parametrize(
    "command",
    [("worker",), ("serve", "--workers", "2"), ("users", "list")],
)
def test_every_process_that_reads_sealed_data_refuses_without_its_keys(
    clinic: tuple[dict[str, str], Path], command: tuple[str, ...]
) -> None:
    env, key_file = clinic
    key_file.unlink()
    args = [*command, "--port", str(free_port())] if command[0] == "serve" else list(command)

    refused = _cli(env, *args)

    assert refused.returncode == 1, refused.stderr
    assert f"the key file {key_file} is missing" in _one_line(refused.stderr)
    assert not key_file.exists()


@pytest.mark.parametrize("clinic", ["default"], indirect=True)
def test_db_migrate_reports_a_missing_key_file_but_makes_none(
    clinic: tuple[dict[str, str], Path],
) -> None:
    env, key_file = clinic
    key_file.unlink()

    migrated = _cli(env, "db", "migrate")

    # The schema is done; the key ring is said to be missing (a migration job may run
    # without the key file mounted), and no ring is made over the stored data.
    assert migrated.returncode == 0, migrated.stderr
    assert f"key ring not ready: the key file {key_file} is missing" in _one_line(migrated.stderr)
    assert not key_file.exists()


def test_serve_refuses_a_key_file_that_lacks_a_key_the_data_needs(
    clinic: tuple[dict[str, str], Path],
) -> None:
    env, key_file = clinic
    old = load(key_file)
    rotated = _cli(env, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    new = load(key_file)
    save(key_file, old)  # an outdated backup put back: it lacks the key the data now uses

    served = _cli(env, "serve", "--port", str(free_port()))

    message = _one_line(served.stderr)
    assert served.returncode == 1, served.stderr
    assert f"the key file {key_file} lacks key(s) {new.active}" in message
    assert f"(it holds {old.active})" in message


def test_keys_init_refuses_over_stored_data_and_over_an_existing_file(
    clinic: tuple[dict[str, str], Path],
) -> None:
    env, key_file = clinic
    before = key_file.read_bytes()

    over_file = _cli(env, "keys", "init")
    assert over_file.returncode == 1
    assert "already exists" in _one_line(over_file.stderr)
    assert key_file.read_bytes() == before
    key_file.unlink()
    over_data = _cli(env, "keys", "init")
    assert over_data.returncode == 1
    assert "the database holds 4 sealed values" in _one_line(over_data.stderr)
    assert not key_file.exists()


def test_keys_init_makes_a_private_ring_for_an_empty_database(tmp_path: Path) -> None:
    key_file = tmp_path / "ring.json"
    env = _env(tmp_path, key_file)
    asyncio.run(migrated(env["CLINICFLOW_DATABASE_URL"]))

    made = _cli(env, "keys", "init")

    assert made.returncode == 0, made.stderr
    ring = load(key_file)
    assert ring.active in _one_line(made.stderr)
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert set(json.loads(key_file.read_text())) == {"active", "keys", "index_key"}


def test_no_ring_is_made_while_the_database_cannot_be_asked(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    unreachable = "postgresql+asyncpg://nobody@127.0.0.1:1/nothing"

    with pytest.raises(KeysUnavailable, match="cannot check the database for sealed data"):
        open_keys(unreachable, key_file)
    assert not key_file.exists()


@pytest.mark.parametrize("clinic", ["default"], indirect=True)
def test_a_malformed_key_file_is_refused_in_one_line_naming_it(
    clinic: tuple[dict[str, str], Path],
) -> None:
    env, key_file = clinic
    key_file.write_text('{"active": "k1", "keys": ')  # truncated by a bad copy

    refused = _cli(env, "users", "list")

    assert refused.returncode == 1, refused.stderr
    assert f"the key file {key_file} cannot be read (key ring is not JSON" in _one_line(
        refused.stderr
    )
    assert "Traceback" not in refused.stderr


def test_processes_setting_up_at_once_on_an_empty_database_share_one_ring(
    tmp_path: Path,
) -> None:
    """Every process races to make the first ring; the losers open the winner's file."""
    key_file = tmp_path / "keys.json"
    url = f"sqlite+aiosqlite:///{tmp_path / 'clinic.sqlite3'}"
    asyncio.run(migrated(url))

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        rings = list(pool.map(lambda _: open_keys(url, key_file), range(8)))

    assert {ring.active for ring in rings} == {load(key_file).active}
