"""The webhooks context's wiring: where subscriptions may point, and who sends."""

from __future__ import annotations

from clinicflow.bootstrap.core import Core
from clinicflow.webhooks.targets import TargetPolicy
from clinicflow.webhooks.wiring import Webhooks, build_webhooks


def wire_webhooks(core: Core) -> Webhooks:
    settings = core.settings
    targets = TargetPolicy(
        allow_http=settings.webhook_allow_http,
        allowed_networks=tuple(settings.webhook_allowed_networks),
    )
    return build_webhooks(
        db=core.db,
        clock=core.clock,
        keys=core.keys,
        http=core.http,
        trail=core.trail,
        targets=targets,
    )
