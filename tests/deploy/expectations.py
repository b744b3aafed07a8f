"""What the deployed API must look like: the one list of public routes, and the hot routes."""

from __future__ import annotations

# Routes anyone may call without a token or key: every other route needs an authorizer.
# (method, path) as in the template's Api events; "ANY" never appears here on purpose.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/v1/health"),
        ("POST", "/auth/login"),
        ("POST", "/auth/token/validate"),
        ("POST", "/auth/token/refresh"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/auth/oauth/{provider}/start"),
        ("GET", "/auth/oauth/{provider}/callback"),
        ("GET", "/v1/openapi.json"),  # the API's own description: no secret in it
        ("GET", "/dashboard"),  # a static page; the stats it polls need an API key
    }
)

# Routes on every request's path: provisioned concurrency (an alias) must be available to them.
HOT_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/v1/events"),
        ("POST", "/auth/token/validate"),
    }
)

# Lambda's python3.11 runtime is Amazon Linux 2: a native extension needing newer glibc fails
# to import there even though it imports fine on this machine.
LAMBDA_GLIBC = (2, 26)
