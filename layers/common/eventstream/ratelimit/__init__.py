"""Per-caller token buckets in Postgres: one limit that holds across all concurrent workers."""
