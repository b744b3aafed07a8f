"""Subscriptions by topic pattern: webhook or pull; creating, listing, deleting, pulling events."""
