"""Which interpreter `make` makes the virtualenv from (Makefile, PYTHON): the system's
/usr/bin/python3 when it is 3.11 or newer and has venv, else the first python3 on PATH, and
whatever PYTHON names when it is given. Read from `make -n` (a dry run: nothing is made)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = Path("/usr/bin/python3")

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


def _venv_command(tmp_path: Path, *args: str) -> str:
    venv = tmp_path / "venv"
    shown = subprocess.run(
        ["make", "-n", f"VENV={venv}", *args, f"{venv}/bin/python"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    made = [line for line in shown.splitlines() if line.endswith(f"-m venv {venv}")]
    assert len(made) == 1, shown
    return made[0].removesuffix(f" -m venv {venv}")


def _system_qualifies() -> bool:
    if not SYSTEM.exists():
        return False
    probe = "import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))"
    return subprocess.run([SYSTEM, "-c", probe], capture_output=True).returncode == 0


def test_the_virtualenv_is_made_from_the_systems_python_when_it_qualifies(
    tmp_path: Path,
) -> None:
    expected = str(SYSTEM) if _system_qualifies() else "python3"
    assert _venv_command(tmp_path) == expected


def test_python_given_to_make_is_the_one_used(tmp_path: Path) -> None:
    assert _venv_command(tmp_path, f"PYTHON={sys.executable}") == sys.executable
