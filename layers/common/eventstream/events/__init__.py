"""Events: ids, the core client, and their storage."""
