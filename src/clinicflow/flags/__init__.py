"""Feature flags: switches kept in the database (so every replica agrees), cached briefly in
each process, changed by admins, and able to reach only a share of clients."""

from clinicflow.flags.domain.rollout import in_rollout
from clinicflow.flags.service import FlagService
from clinicflow.flags.views import FlagView

__all__ = ["FlagService", "FlagView", "in_rollout"]
