"""A migrated database for a test whose subject is not the migrations.

On SQLite it is a copy of a file this process migrated once (the whole Alembic history costs
~0.3 s of CPU each time it runs, and some fifty tests and fixtures want a fresh file); on
PostgreSQL the history runs, as before. Tests of the migrations themselves, of `clinicflow db
migrate` and of how the app creates its files (their modes) call `upgrade` or the CLI.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
from pathlib import Path

from clinicflow.infra.db import ensure_sqlite_dir
from clinicflow.infra.migrate import upgrade

SQLITE = "sqlite+aiosqlite:///"

_template: Path | None = None


async def template() -> Path:
    """This process's migrated SQLite file (made on first use, removed as the process ends)."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="clinicflow-migrated-"))
        atexit.register(_remove, folder, os.getpid())
        path = folder / "template.sqlite3"
        await upgrade(f"{SQLITE}{path}")
        _template = path
    return _template


def _remove(folder: Path, owner: int) -> None:
    if os.getpid() == owner:  # not a child forked from this process, exiting before it
        shutil.rmtree(folder, ignore_errors=True)


async def migrated(url: str) -> None:
    """The database at `url` as `upgrade(url)` leaves it: a new SQLite file is a copy of the
    process's migrated one, with the mode the app gives its files (0600); anything else (a
    server's database, a file with rows already) is migrated in place."""
    if not url.startswith(SQLITE) or "?" in url:
        await upgrade(url)
        return
    copied = await asyncio.to_thread(_copied, url, await template())
    if not copied:
        await upgrade(url)


def _copied(url: str, template: Path) -> bool:
    path = Path(url.removeprefix(SQLITE))
    if path.exists() and path.stat().st_size:
        return False
    ensure_sqlite_dir(url)  # the folder, and the file made private
    shutil.copyfile(template, path)
    return True
