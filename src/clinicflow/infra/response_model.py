"""What a response model shares with the view it answers: its fields are the view's
attributes of the same names.

A use case hands back a view (a frozen dataclass, a row); the response model that describes
it on the API keeps the fields it publishes under the same names. `ResponseModel.of` reads
them from the view, nested views into nested models likewise, instead of each model naming
every field twice in a hand-written `of`; `from_view` does the same for a model that renames
or reshapes a few of them.
"""

from __future__ import annotations

from typing import Generic, Self, TypeVar

from pydantic import BaseModel

V = TypeVar("V")
M = TypeVar("M", bound=BaseModel)


def from_view(model: type[M], view: object, **given: object) -> M:
    """A `model` whose fields are `view`'s attributes of the same names, but for those
    `given`; validated (and coerced: a tuple to a list, an ISO date string to a date, a view
    to the nested model of its field) as any model is."""
    if not given:
        return model.model_validate(view, from_attributes=True)
    read = {name: getattr(view, name) for name in model.model_fields if name not in given}
    return model.model_validate(read | given, from_attributes=True)


class ResponseModel(BaseModel, Generic[V]):
    """A response model over views of type `V`: `FlagOut(ResponseModel[FlagView])`."""

    @classmethod
    def of(cls, view: V) -> Self:
        """The response to `view`, each field its attribute of the same name."""
        return from_view(cls, view)
