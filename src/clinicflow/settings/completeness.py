"""Settings that only work together: a group is given whole, or not at all."""

from __future__ import annotations

from typing import TypeVar

from pydantic_settings import BaseSettings

S = TypeVar("S", bound=BaseSettings)


def all_or_none(settings: S, *names: str) -> S:
    """`settings`, when the fields `names` are all given or none is (an empty value counts as
    not given); otherwise the error that names their environment variables."""
    given = [getattr(settings, name) for name in names]
    if any(given) and not all(given):
        env = [f"CLINICFLOW_{name.upper()}" for name in names]
        listed = f"{', '.join(env[:-1])} and {env[-1]}"
        raise ValueError(
            f"set {listed} together, or {'neither' if len(env) == 2 else 'none of them'}"
        )
    return settings
