"""Meter service: usage records, per-period aggregates (and later cost, tiers, budgets)."""
