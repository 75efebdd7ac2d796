"""Pure rules of API keys: their shape, scopes and tiers."""
