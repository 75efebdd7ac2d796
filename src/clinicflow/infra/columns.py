"""The column groups every context's tables repeat, each named once.

Each helper builds new `Column`s on every call (a column belongs to one table), exactly as the
spelled-out `Column(...)` would be: the schema, and the migrations that must match it
(`tests/integration/test_schema_drift.py`), do not change. Columns with anything of their own
(a comment, a default, a length of their own) stay spelled out in their table. `stored` is
the other way round: a frozen dataclass's fields as the values of its row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, Text

from clinicflow.infra.db import UTCDateTime

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# The width of an id column: a UUID's text form.
ID_LENGTH = 36


def uuid_key(name: str = "id") -> Column[str]:
    """The row's UUID as its primary key."""
    return Column(name, String(ID_LENGTH), primary_key=True)


def uuid_ref(
    name: str,
    references: str | None = None,
    *,
    nullable: bool = False,
    ondelete: str | None = None,
) -> Column[str]:
    """Another row's UUID (`references`: its `table.column`, for a foreign key)."""
    if references is None:
        return Column(name, String(ID_LENGTH), nullable=nullable)
    foreign_key = ForeignKey(references, ondelete=ondelete)
    return Column(name, String(ID_LENGTH), foreign_key, nullable=nullable)


def instant(name: str, *, nullable: bool = False) -> Column[datetime]:
    """A UTC instant (`UTCDateTime`)."""
    return Column(name, UTCDateTime, nullable=nullable)


def timestamps() -> tuple[Column[datetime], Column[datetime]]:
    """`created_at` and `updated_at`, both required."""
    return instant("created_at"), instant("updated_at")


def sealed(*fields: str) -> list[Column[str]]:
    """`<field>_enc`: ciphertext from the key ring, never the value. Nullable, so that
    retention can de-identify a row in place."""
    return [Column(f"{field}_enc", Text, nullable=True) for field in fields]


def blind_indexes(*fields: str) -> list[Column[str]]:
    """`<field>_bidx`: the key ring's blind index (keyed SHA-256, hex) of a sealed value, for
    finding a row by it."""
    return [Column(f"{field}_bidx", String(64), nullable=True) for field in fields]


def one_of(column: str, values: Iterable[str]) -> str:
    """The SQL condition `column IN ('a', 'b', …)`."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def check_one_of(column: str, values: Iterable[str]) -> CheckConstraint:
    """A check that `column` holds one of `values`, named for the column."""
    return CheckConstraint(one_of(column, values), name=column)


def stored(table: Table, item: DataclassInstance) -> dict[str, object]:
    """The fields of `item` (a frozen dataclass) that `table` has columns for, by name: the
    values of the row that stores it. Fields the table does not keep are left out."""
    return {f.name: getattr(item, f.name) for f in fields(item) if f.name in table.c}
