"""GET /v1/health: the service's own view of whether it can serve."""
