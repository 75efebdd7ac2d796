"""Reading a posted form: its CSRF token checked first, then its fields validated by a
pydantic model into field-by-field messages a page shows next to the field that caused them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from clinicflow.web.security import CSRF_FIELD, WebKeys, check_csrf

M = TypeVar("M", bound=BaseModel)
MAX_FIELD = 2000  # characters: no field of ours is longer


@dataclass(slots=True)
class Posted:
    """A form as sent (for re-showing it) and its messages by field name ("" = the form)."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)


async def read_form(request: Request, keys: WebKeys) -> Posted:
    """The form's fields (first value of each, trimmed). Raises `CsrfRefused` first."""
    form = await request.form()
    raw = form.get(CSRF_FIELD)
    check_csrf(request, keys, raw if isinstance(raw, str) else None)
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        if name != CSRF_FIELD and isinstance(value, str) and name not in values:
            values[name] = value.strip()[:MAX_FIELD]
    return Posted(values)


def validated(
    model: type[M], posted: Posted, extra: Mapping[str, object] | None = None
) -> M | None:
    """The model, or None with each problem recorded under its field in `posted.errors`."""
    fields = model.model_fields
    # Only the model's own fields: a page's other fields (the payment choice) are its own.
    data: dict[str, object] = {k: v for k, v in posted.values.items() if v != "" and k in fields}
    data.update(extra or {})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for problem in exc.errors():
            where = str(problem["loc"][0]) if problem["loc"] else ""
            where = where if where in fields else ""  # the form's, not one field's
            message = str(problem["msg"]).removeprefix("Value error, ")
            posted.error(where, message[:1].upper() + message[1:])
        return None
