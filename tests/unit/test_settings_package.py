"""`Settings` gathers each context's fields and checks from the classes of clinicflow/settings/.
Pydantic keeps one validator per name: a check in one class named like a check in another
would be silently dropped (seen while splitting the module: `trusted_proxies` stopped being
parsed from the environment). Every check of every part must be one of Settings' own."""

from __future__ import annotations

from collections import Counter

from pydantic_settings import BaseSettings

from clinicflow.settings import Settings


def _parts() -> list[type[BaseSettings]]:
    return [
        b for b in Settings.__mro__[1:] if issubclass(b, BaseSettings) and b is not BaseSettings
    ]


def _checks(cls: type[BaseSettings]) -> dict[str, object]:
    found = cls.__pydantic_decorators__
    every = {**found.field_validators, **found.model_validators, **found.validators}
    # classmethods come bound to the class asked: compare the functions underneath
    functions = {name: getattr(d, "func") for name, d in every.items()}  # noqa: B009
    return {name: getattr(f, "__func__", f) for name, f in functions.items()}


def test_no_two_parts_name_a_check_alike() -> None:
    names = Counter(name for part in _parts() for name in _checks(part) if part.__dict__.get(name))
    assert [name for name, n in names.items() if n > 1] == []


def test_every_parts_check_runs_on_settings() -> None:
    kept = _checks(Settings)
    for part in _parts():
        for name, func in _checks(part).items():
            assert kept.get(name) is func, f"{part.__name__}.{name} is not among Settings' checks"
    assert len(kept) >= 12  # the completeness checks and the parsers: none lost in the split
