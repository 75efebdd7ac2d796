"""What a gateway's webhook delivery is answered."""

from __future__ import annotations

from pydantic import BaseModel


class WebhookOut(BaseModel):
    outcome: str
