"""Feature flags' rules: which flags exist by default, and who a partial rollout reaches."""

from clinicflow.flags.domain.rollout import DEFAULTS, default_text, in_rollout, reaches

__all__ = ["DEFAULTS", "default_text", "in_rollout", "reaches"]
