"""The CLINICFLOW_* variables as pydantic-settings reads them, each set read once a process.

pydantic-settings' environment source works out every field's type again on each read
(whether it is "complex", which names it goes by): ~80% of the CPU of a `Settings()`, ~2 ms
for Settings' 150 fields. A process builds one; the test suite builds one for each test (and
more), almost always from the same variables. What the source makes of the environment
depends on nothing else, so what it made of the same variables is reused.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource, PydanticBaseSettingsSource

# Sets of variables read, at most this many kept (a process sees one; a test run, a few).
KEPT = 64
_read: dict[tuple[object, ...], dict[str, Any]] = {}


class RememberedEnvironment(PydanticBaseSettingsSource):
    """`source`, read once for each environment it sees (its settings and every variable)."""

    def __init__(self, source: EnvSettingsSource) -> None:
        super().__init__(source.settings_cls)
        self._source = source

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._source.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        source = self._source
        key = (
            source.settings_cls,
            source.case_sensitive,
            source.env_prefix,
            source.env_nested_delimiter,
            source.env_ignore_empty,
            source.env_parse_none_str,
            source.env_parse_enums,
            _own_variables(source),
        )
        read = _read.get(key)
        if read is None:
            if len(_read) >= KEPT:
                _read.clear()
            read = _read[key] = source()
        return copy.deepcopy(read)  # the caller merges into it


def _own_variables(source: EnvSettingsSource) -> tuple[tuple[str, str | None], ...]:
    """The variables the source can read: those named with its prefix (Settings' fields have
    no other names), not the whole environment, which changes under a process that runs
    tests (pytest sets PYTEST_CURRENT_TEST for each test's each phase: every read was new)."""
    prefix = source.env_prefix if source.case_sensitive else source.env_prefix.lower()
    return tuple(sorted(item for item in source.env_vars.items() if item[0].startswith(prefix)))
