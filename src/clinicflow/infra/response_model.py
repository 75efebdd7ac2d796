"""What a response model shares with the view it answers: its fields are the view's
attributes of the same names.

A use case hands back a view (a frozen dataclass, a row); the response model that describes
it on the API keeps the fields it publishes under the same names. `ResponseModel.of` reads
them from the view, nested views into nested models likewise, instead of each model naming
every field twice in a hand-written `of`.
"""

from __future__ import annotations

from typing import Generic, Self, TypeVar

from pydantic import BaseModel

V = TypeVar("V")


class ResponseModel(BaseModel, Generic[V]):
    """A response model over views of type `V`: `FlagOut(ResponseModel[FlagView])`."""

    @classmethod
    def of(cls, view: V) -> Self:
        """The response to `view`: each field its attribute of the same name, validated (and
        coerced: a tuple to a list, an ISO date string to a date) as any model is."""
        return cls.model_validate(view, from_attributes=True)
