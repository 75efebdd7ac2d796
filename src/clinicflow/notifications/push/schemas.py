"""HTTP shapes of Web Push registration."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from clinicflow.infra.request_input import RequestModel
from clinicflow.notifications.domain.push import MAX_ENDPOINT

Endpoint = Annotated[str, Field(min_length=1, max_length=MAX_ENDPOINT)]
Key = Annotated[str, Field(min_length=1, max_length=200)]


class KeysIn(RequestModel):
    p256dh: Key
    auth: Key


class PushSubscriptionIn(RequestModel):
    """The browser's `PushSubscription.toJSON()`, as it is (other members are ignored)."""

    model_config = ConfigDict(extra="ignore")

    endpoint: Endpoint
    keys: KeysIn


class EndpointIn(RequestModel):
    model_config = ConfigDict(extra="ignore")

    endpoint: Endpoint


class KeyOut(BaseModel):
    application_server_key: str = Field(
        description="the VAPID public key, base64url (applicationServerKey in subscribe())"
    )


class PushSubscriptionOut(BaseModel):
    id: str
    created_at: datetime
    updated_at: datetime
