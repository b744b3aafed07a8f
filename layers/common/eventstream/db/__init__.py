"""Postgres access: credentials, one reused connection per process, migrations."""
