"""Inventory sync with history: what every tenant holds now, and what changed, per run."""
