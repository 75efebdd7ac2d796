"""Pure patient rules: who may see or change a record."""
