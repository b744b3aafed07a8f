"""Reading a JSON secret from Secrets Manager the way every function does: Powertools
Parameters, cached in the process, one error type whose message names the secret."""

from __future__ import annotations

from typing import Any


class SecretError(Exception):
    """The secret cannot be read or is not a JSON object; the message says which."""


def json_secret(secret_id: str, *, max_age_s: int, force_fetch: bool = False) -> dict[str, Any]:
    """The secret's JSON object, cached for max_age_s (force_fetch: read it afresh)."""
    # Imported here: it pulls in boto3, which a warm call served from a cache never needs.
    from aws_lambda_powertools.utilities import parameters

    try:
        value = parameters.get_secret(
            secret_id, transform="json", max_age=max_age_s, force_fetch=force_fetch
        )
    except parameters.GetParameterError as e:
        raise SecretError(f"cannot read secret {secret_id}: {type(e).__name__}") from e
    except parameters.TransformParameterError:
        raise SecretError(f"secret {secret_id} is not JSON") from None
    if not isinstance(value, dict):
        raise SecretError(f"secret {secret_id} is not a JSON object")
    return value
