"""Launched services: a service the catalog lists as not active yet (counseling, equine
therapy) becomes live when an administrator launches it, at run time.

The launched set is kept in the database (`catalog.repository`) and cached per process
(`catalog.service.LaunchState`); this is the overlay every context reads the catalog
through: a launched service reads as active and `launched`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Protocol

from clinicflow.catalog.domain.clinic import Catalog, Service


class Launched(Protocol):
    """Where the current launched set is read from (it changes while the catalog lives)."""

    @property
    def launched(self) -> frozenset[str]: ...


def with_launched(base: Catalog, source: Launched) -> Catalog:
    """`base` with every service in `source.launched` reading as active, as `source` says
    at each read."""
    return replace(base, services=_LiveServices(base.services, source))


class _LiveServices(Mapping[str, Service]):
    def __init__(self, base: Mapping[str, Service], source: Launched) -> None:
        self._base = base
        self._source = source
        self._seen: frozenset[str] = frozenset()
        self._view: Mapping[str, Service] = base

    def _current(self) -> Mapping[str, Service]:
        launched = self._source.launched
        if launched != self._seen:  # rebuilt only when the launched set changes
            self._view = MappingProxyType(
                {
                    key: replace(s, active=True, launched=True)
                    if key in launched and not s.active
                    else s
                    for key, s in self._base.items()
                }
            )
            self._seen = launched
        return self._view

    def __getitem__(self, key: str) -> Service:
        return self._current()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._base)
