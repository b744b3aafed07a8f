"""Webhooks: Standard Webhooks signing, the SSRF guard on targets, the retry schedule, storage."""
