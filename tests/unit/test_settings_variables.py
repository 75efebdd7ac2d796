"""Settings read the CLINICFLOW_* variables once for each set of them (settings/_variables.py):
a change to one of them is seen by the next Settings, and a change to any other variable
(pytest's PYTEST_CURRENT_TEST changes for each test's each phase) reads nothing again."""

from __future__ import annotations

import pytest

from clinicflow.settings import Settings, _variables


def test_a_changed_clinicflow_variable_is_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINICFLOW_REQUEST_DEADLINE_SECONDS", "7")
    assert Settings().request_deadline_seconds == 7
    monkeypatch.setenv("CLINICFLOW_REQUEST_DEADLINE_SECONDS", "9")
    assert Settings().request_deadline_seconds == 9
    monkeypatch.delenv("CLINICFLOW_REQUEST_DEADLINE_SECONDS")
    assert Settings().request_deadline_seconds == 10  # the default


def test_another_variable_changing_reads_nothing_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINICFLOW_REQUEST_DEADLINE_SECONDS", "8")
    monkeypatch.setenv("UNRELATED_TO_CLINICFLOW", "one")
    first = Settings()
    kept = dict(_variables._read)
    monkeypatch.setenv("UNRELATED_TO_CLINICFLOW", "two")
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "another test (call)")
    second = Settings()
    assert _variables._read == kept
    assert second.request_deadline_seconds == first.request_deadline_seconds == 8


def test_every_setting_is_read_by_its_prefixed_name_alone() -> None:
    # The remembered read is keyed on the CLINICFLOW_* variables: a field read by another
    # name (an alias) would be missed when that variable changes.
    named_otherwise = [
        name
        for name, field in Settings.model_fields.items()
        if field.alias is not None or field.validation_alias is not None
    ]
    assert named_otherwise == []
