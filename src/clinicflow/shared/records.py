"""Plain records built from one another by field name."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")


def from_attributes(cls: type[D], source: object, **given: object) -> D:
    """A `cls` (a dataclass) whose fields are `source`'s attributes of the same names, but
    for those `given`: a view of a domain object without naming each field twice."""
    copied = {f.name: getattr(source, f.name) for f in fields(cls) if f.name not in given}
    return cls(**copied, **given)
