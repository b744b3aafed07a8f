"""GET /.well-known/jwks.json (public): the public keys that verify access tokens."""

from __future__ import annotations

import time
from typing import Any

from eventstream.api import Request, route
from eventstream.auth import keys
from eventstream.http import json_response

# Re-read the key set this often: a rotation's new key must be published before verifiers
# elsewhere meet it (signers pick it up within keys.KEY_CACHE_MAX_AGE_S).
KEY_SET_MAX_AGE_S = 10


@route
def handler(request: Request) -> dict[str, Any]:
    document = keys.jwks(keys.load_key_set(max_age_s=KEY_SET_MAX_AGE_S), time.time())
    # Short enough that a rotation reaches outside verifiers well before its tokens do.
    return json_response(200, document, {"Cache-Control": "public, max-age=60"})
