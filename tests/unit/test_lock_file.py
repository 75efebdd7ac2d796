"""The lock files are what every install takes: requirements.txt (`make install`, with the
test tools), requirements-spark.txt (`make spark`), requirements-runtime.txt (the image,
deploy/Dockerfile), requirements-build.txt (what builds clinicflow itself; both installs
build it without pip's build isolation, which would fetch the newest setuptools) and
requirements-lock.txt (the uv that `make lock` resolves them with). Every
dependency pyproject.toml names must be pinned there, or a fresh machine would run without
it, and every pin carries the sha256 of its release files, or a file re-published under the
same version would install unnoticed (`make lock` re-resolves)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from support.browser import PLAYWRIGHT

ROOT = Path(__file__).resolve().parents[2]
LOCKS = [
    "requirements.txt",
    "requirements-spark.txt",
    "requirements-runtime.txt",
    "requirements-build.txt",
    "requirements-lock.txt",
]


def _name(requirement: str) -> str:
    bare = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", bare).lower()


def _pins(lock: str) -> dict[str, str]:
    """Each requirement of a lock file (joined across its `\\` continuations): name -> text."""
    text = (ROOT / lock).read_text().replace("\\\n", " ")
    return {
        _name(line.split("==")[0]): line
        for line in text.splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }


def test_every_dependency_in_pyproject_is_pinned_in_the_lock_files() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    dev = {_name(r) for r in project["optional-dependencies"]["dev"]}
    assert (runtime | dev) - set(_pins("requirements.txt")) == set(), "run `make lock`"
    assert runtime - set(_pins("requirements-runtime.txt")) == set(), "run `make lock`"


def test_the_image_lock_pins_the_same_versions_as_the_development_lock() -> None:
    development = _pins("requirements.txt")
    for name, line in _pins("requirements-runtime.txt").items():
        version = line.split("==")[1].split()[0]
        assert development[name].split("==")[1].split()[0] == version, name


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_carries_its_hashes(lock: str) -> None:
    pins = _pins(lock)
    assert pins, f"{lock}: no pins"
    unhashed = [
        name for name, line in pins.items() if not re.search(r"--hash=sha256:[0-9a-f]{64}", line)
    ]
    assert unhashed == [], f"{lock}: pinned without hashes (run `make lock`)"


def test_installs_refuse_a_file_whose_hash_differs() -> None:
    makefile = (ROOT / "Makefile").read_text()
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    for lock in LOCKS:
        if lock == "requirements-runtime.txt":
            continue  # the image's (below)
        install = (
            rf"pip install --quiet --require-hashes( --no-build-isolation)? -r {re.escape(lock)}"
        )
        assert re.search(install, makefile), f"{lock} is not installed with --require-hashes"
    assert "pip install --quiet uv" not in makefile  # the lock's own resolver: pinned too
    assert "--require-hashes -r requirements-runtime.txt" in dockerfile
    assert "--require-hashes -r requirements-build.txt" in dockerfile


def test_clinicflow_is_built_by_the_locked_build_requirements_only() -> None:
    """pyproject.toml's [build-system] requirements are pinned in requirements-build.txt, and
    both installs of clinicflow itself build it without isolation, so with those pins: under
    pip's default isolation each install fetched the newest setuptools, the one unpinned
    package of a set-up."""
    needs = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert {_name(r) for r in needs} - set(_pins("requirements-build.txt")) == set()
    makefile = (ROOT / "Makefile").read_text()
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "pip install --quiet --no-deps --no-build-isolation -e ." in makefile
    assert "pip wheel --no-cache-dir --no-deps --no-build-isolation" in dockerfile
    assert "!requirements-build.txt" in (ROOT / "deploy" / "Dockerfile.dockerignore").read_text()
    assert "pip install --quiet --no-deps -e ." not in makefile


def test_the_locks_source_releases_are_built_by_the_locked_build_requirements() -> None:
    """The locks name a few releases pip builds from source (no wheel on PyPI): installed
    after requirements-build.txt and without build isolation, they are built by its pinned
    setuptools and wheel, not by whatever setuptools is newest that day."""
    makefile = (ROOT / "Makefile").read_text()
    build = makefile.index("--require-hashes -r requirements-build.txt")
    for lock in ("requirements.txt", "requirements-spark.txt"):
        install = makefile.index(f"--require-hashes --no-build-isolation -r {lock}")
        assert build < install, f"{lock} is installed before the build requirements"


def test_the_browser_tests_repeat_the_locked_playwrights_own_disabled_features() -> None:
    """support/browser.py passes chromium a --disable-features that repeats Playwright's own
    (chromium keeps only the last one): a Playwright of another version may disable others."""
    locked = _pins("requirements.txt")["playwright"].split("==")[1].split()[0]
    assert locked == PLAYWRIGHT, (
        f"Playwright {locked} is locked: compare its --disable-features "
        "(server/chromium/chromiumSwitches.ts) with support/browser.py's PLAYWRIGHT_DISABLED, "
        "then set PLAYWRIGHT there"
    )
