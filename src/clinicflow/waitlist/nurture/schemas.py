"""HTTP shape of a click on a nurture message's tracking link."""

from __future__ import annotations

from pydantic import BaseModel, Field

from clinicflow.infra.response_model import from_view
from clinicflow.waitlist.nurture.views import Clicked


class ClickOut(BaseModel):
    service: str
    status: str
    counted: bool = Field(description="false when this message's click was counted before")
    message: str

    @classmethod
    def of(cls, done: Clicked) -> ClickOut:
        thanks = "Thank you: you are still on the list; we will write when there is a place."
        return from_view(cls, done, message=thanks)
