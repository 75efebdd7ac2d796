"""What is wrong with a configuration file, in the file's own words.

Each problem names the file, the key path as the user wrote it
(`practitioners.doctor1.hours.mon[1]`), what is wrong and what to change. Pydantic's errors
from the file's schema (`schemas`) are translated here into (key path, message).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from clinicflow.catalog.domain.references import Issue
from clinicflow.catalog.domain.values import Invalid
from clinicflow.catalog.schemas import DocumentSpec

_PLAIN = {
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "dict_type": "must be a mapping of keys to values (one 'key: value' per line)",
    "list_type": "must be a list, like [a, b] or one '- item' per line",
    "too_short": "is empty; add at least one entry",
}


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    path: str  # dotted key path with [i] for list items; "" for the file as a whole
    message: str
    line: int | None = field(default=None, compare=False)  # 1-based, where YAML tells us

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}: " if self.path else f"{self.file}: "
        line = f" (line {self.line})" if self.line is not None else ""
        return f"{where}{self.message}{line}"


def format_problems(problems: Iterable[ConfigProblem]) -> str:
    return "\n".join(str(problem) for problem in problems)


class ConfigError(Exception):
    def __init__(self, problems: Sequence[ConfigProblem], file: str | None = None) -> None:
        self.problems = list(problems)
        self.file = file if file is not None else (problems[0].file if problems else "?")
        count = len(self.problems)
        header = f"invalid clinic configuration in {self.file}: {count} problem" + (
            "" if count == 1 else "s"
        )
        super().__init__("\n".join([header, format_problems(self.problems)]))


def path_of(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def schema_issues(error: ValidationError) -> list[Issue]:
    return [_translate(detail) for detail in error.errors(include_url=False)]


def _translate(detail: ErrorDetails) -> Issue:
    loc, kind, ctx = tuple(detail["loc"]), detail["type"], detail.get("ctx") or {}
    if loc and loc[-1] == "[key]":  # a mapping's key failed, not its value
        loc = loc[:-1]
    invalid = ctx.get("error")
    if kind == "value_error" and isinstance(invalid, Invalid):
        return path_of(loc) + invalid.at, invalid.message
    if kind == "extra_forbidden":
        return path_of(loc), unknown_key(str(loc[-1]), allowed_keys(loc[:-1]))
    if kind == "missing":
        if len(loc) == 1:
            return "", f"missing required section '{loc[0]}'; add a top-level '{loc[0]}:' block"
        return path_of(loc[:-1]), f"missing required key '{loc[-1]}'; add it"
    if kind == "model_type":
        return path_of(loc), "must be a mapping with the keys: " + ", ".join(allowed_keys(loc))
    return path_of(loc), _PLAIN.get(kind, detail["msg"])


def unknown_key(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key '{key}'; allowed: {', '.join(allowed)}{hint}"


def allowed_keys(loc: Sequence[int | str]) -> list[str]:
    model = _model_at(loc)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_at(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model that validates the value at `loc`, found by walking the annotations."""
    kind: object = DocumentSpec
    for part in loc:
        kind = _unwrap(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            found = kind.model_fields.get(str(part))
            if found is None:
                return None
            kind = found.annotation
        elif get_origin(kind) in (list, dict):
            kind = get_args(kind)[-1]
        else:
            return None
    kind = _unwrap(kind)
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _unwrap(kind: object) -> object:
    """The type under `Annotated[...]` and `X | None`."""
    while True:
        origin = get_origin(kind)
        if origin is Annotated:
            kind = get_args(kind)[0]
        elif origin in (Union, UnionType):
            kind = next(arg for arg in get_args(kind) if arg is not type(None))
        else:
            return kind
