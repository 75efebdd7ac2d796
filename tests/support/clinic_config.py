"""config/clinic.yaml for the configuration tests: the shipped file as data a test breaks, a
minimal clinic a test adds a section to, and what `clinicflow config check` says of a broken
copy."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from clinicflow.catalog.errors import format_problems
from clinicflow.catalog.service import check_config
from support.app import CLINIC_YAML

Config = dict[str, Any]

MINIMAL = """\
clinic: {name: Test clinic, timezone: America/Chicago, zip: "78701"}
services:
  checkup: {active: true, durations: {initial: [30]}, pricing: {initial: 50}, calendars: [doc]}
practitioners:
  doc: {name: Doc, title: MD, hours: {mon: ["09:00-17:00"]}}
"""


def shipped() -> Config:
    """config/clinic.yaml, as data to change (a copy of its own)."""
    return copy.deepcopy(_shipped())


@functools.cache
def _shipped() -> Config:
    """config/clinic.yaml read once per process: PyYAML's pure-Python loader takes ~18 ms of
    CPU for it, a deep copy 0.3 ms."""
    data: Config = yaml.safe_load(CLINIC_YAML.read_text(encoding="utf-8"))
    return data


def written(config: Config, tmp_path: Path) -> Path:
    """`config` as tmp_path/clinic.yaml."""
    path = tmp_path / "clinic.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def only_problem(config: Config, tmp_path: Path) -> tuple[Path, str]:
    """`config` written and checked: where, and the one problem the check names."""
    path = written(config, tmp_path)
    problems = check_config(path)
    assert len(problems) == 1, format_problems(problems)
    return path, str(problems[0])


def assert_refused(config: Config, tmp_path: Path, key_path: str, *words: str) -> None:
    """The check names exactly one problem, at `key_path`, in a message with every word."""
    path, message = only_problem(config, tmp_path)
    assert message.startswith(f"{path}: {key_path}: "), message
    for word in words:
        assert word in message, message
