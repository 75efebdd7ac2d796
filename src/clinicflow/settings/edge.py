"""The edge's settings (gateway/): the proxies believed, the metrics port, request hygiene
and the rate limits per client and route class."""

from __future__ import annotations

import json
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode

# Addresses or CIDRs; from the environment as a JSON list or comma separated.
Networks = Annotated[list[IPv4Network | IPv6Network], NoDecode]
RATE_LIMITS: dict[str, dict[str, str]] = {
    "anonymous": {
        "read": "300/minute",
        "write": "60/minute",
        "auth": "10/minute",
        "webhook": "600/minute",
    },
    "patient": {"read": "300/minute", "write": "60/minute"},
    "staff": {"read": "1200/minute", "write": "300/minute", "auth": "20/minute"},
    "standard": {"read": "600/minute", "write": "120/minute"},
    "partner": {"read": "3000/minute", "write": "600/minute"},
}


def networks_from_text(value: object) -> object:
    """`Networks` from the environment: a JSON list, or addresses and CIDRs comma separated."""
    if isinstance(value, str):
        text = value.strip()
        return (
            json.loads(text)
            if text.startswith("[")
            else [part.strip() for part in text.split(",") if part.strip()]
        )
    return value


class EdgeSettings(BaseSettings):
    """CLINICFLOW_TRUSTED_PROXIES, _METRICS_PORT, _MAX_BODY_BYTES, _CORS_ORIGINS, _RATE_LIMIT*."""

    # Peers whose X-Forwarded-For (and -Proto) is believed: the ingress or load balancer,
    # as addresses or CIDRs (JSON list or comma separated); none by default, so a
    # client cannot choose the address its rate limit is counted under. Prometheus /metrics
    # is answered only on its own port (`clinicflow serve --metrics-port`), never the API's.
    trusted_proxies: Networks = Field(default_factory=list)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    # Request hygiene: the largest body a route takes (a few routes take more), and the
    # browser origins allowed to call the API (CORS; none by default).
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    cors_origins: list[str] = Field(default_factory=list)

    # Rate limits per client (API key, user, or IP when anonymous) and route class, by tier
    # (an API key's tier; "staff", "patient" for sessions; "anonymous"). A tier may leave a
    # class out to take the anonymous tier's limit. Env: JSON, e.g.
    # CLINICFLOW_RATE_LIMITS='{"standard": {"read": "600/minute"}}' (replaces the table).
    rate_limits_enabled: bool = True
    rate_limit_storage: Literal["memory", "redis"] = "memory"  # redis: across replicas
    rate_limits: dict[str, dict[str, str]] = Field(default_factory=lambda: dict(RATE_LIMITS))

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies_from_text(cls, value: object) -> object:
        return networks_from_text(value)

    @field_validator("rate_limits")
    @classmethod
    def _rate_limits_parse(cls, tiers: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        from limits import parse  # the library's own grammar: "120/minute", "10 per second"

        if "anonymous" not in tiers:
            raise ValueError("rate_limits needs an 'anonymous' tier (callers with no credentials)")
        for tier, classes in tiers.items():
            for name, value in classes.items():
                if name not in ("read", "write", "auth", "webhook"):
                    raise ValueError(f"rate_limits.{tier}.{name}: use read, write, auth or webhook")
                try:
                    parse(value)
                except ValueError:
                    raise ValueError(
                        f"rate_limits.{tier}.{name}: {value!r} is not a rate; write e.g. 120/minute"
                    ) from None
        return tiers
