"""Receipts: a paid order's itemized receipt (a superbill once staff add codes)."""
