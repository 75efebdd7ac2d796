"""What every payments request model shares. Field names are the public contract."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Header
from pydantic import ConfigDict, StringConstraints

from clinicflow.infra.request_input import RequestModel

Key = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=36)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Method = Literal["stripe", "paypal", "in_clinic"]
Tender = Literal["cash", "card_terminal"]


class PaymentsIn(RequestModel):
    """A payments request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


# As on POST /v1/bookings: the same key and body answer the first result
# (payments/idempotency_keys/service.py); a replay is answered with `REPLAYED: true`.
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
]
REPLAYED = "Idempotent-Replayed"
