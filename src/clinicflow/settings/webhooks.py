"""The webhooks context's settings: where outbound webhooks may be delivered."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from clinicflow.settings.edge import Networks, networks_from_text


class WebhookSettings(BaseSettings):
    """CLINICFLOW_WEBHOOK_ALLOW_HTTP, CLINICFLOW_WEBHOOK_ALLOWED_NETWORKS."""

    # Outbound webhooks (webhooks/targets.py): receivers must be https on a public address.
    # Development only: plain http, and networks exempt from the public-address rule (e.g.
    # ["127.0.0.1/32"] for a receiver on this machine, or an internal CRM's range).
    webhook_allow_http: bool = False
    webhook_allowed_networks: Networks = Field(default_factory=list)

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _allowed_from_text(cls, value: object) -> object:
        return networks_from_text(value)
