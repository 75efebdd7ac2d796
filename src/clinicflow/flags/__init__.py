"""Feature flags: switches kept in the database (so every replica agrees), cached briefly in
each process, changed by admins, and able to reach only a share of clients."""

from clinicflow.flags.service import FlagService, FlagView, in_rollout

__all__ = ["FlagService", "FlagView", "in_rollout"]
