"""The Lambda authorizer's decision in-process: decide() on a TOKEN event with a valid token.

Target: p99 <= 100 us. Baseline in the same run: the bare RS256 signature check of the same
token (cryptography/OpenSSL), the floor any EdDSA verifier pays; the ratio is what parsing,
claim checks and the policy add on top.
Usage: python bench/authorizer_decision.py [--iterations N]
"""

from __future__ import annotations

import argparse
import base64
import os
import time

from _common import machine, percentile
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256

from eventstream.auth import keys
from eventstream.auth import verifier as verifier_module
from eventstream.auth.authorizer import decide
from eventstream.auth.tokens import issue_access_token
from eventstream.auth.verifier import TokenVerifier


def micro_summary(samples: list[float]) -> str:
    return (
        f"p50 {percentile(samples, 50):.1f} us  p99 {percentile(samples, 99):.1f} us  "
        f"n={len(samples)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=20000)
    n = parser.parse_args().iterations
    os.environ.setdefault("TOKEN_ISSUER", "eventstream-dev")
    os.environ.setdefault("TOKEN_AUDIENCE", "eventstream-api")
    key_set = keys.new_key_set(time.time())
    signer = keys.signing_key(key_set)
    token = issue_access_token(
        sub="5f0c6a2e-8d7b-4c1e-9a3f-2b6d8e4f1a7c",
        roles=["user"],
        key=signer,
        issuer="eventstream-dev",
        audience="eventstream-api",
    ).token
    verifier_module._verifier = TokenVerifier(load=lambda **_: key_set)
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {token}",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/POST/v1/events",
    }
    public = signer.private_key.public_key()
    head, payload, sig = token.split(".")
    signed = f"{head}.{payload}".encode()
    signature = base64.urlsafe_b64decode(sig + "==")

    padding, hash_ = PKCS1v15(), SHA256()
    for _ in range(2000):  # warm caches and the allocator
        decide(event)
        public.verify(signature, signed, padding, hash_)
    # Interleaved, one of each per round: the VM's speed drifts from second to second, and
    # both series must see the same drift for the ratio to mean anything.
    base: list[float] = []
    full: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(n):
        t0 = clock()
        public.verify(signature, signed, padding, hash_)
        t1 = clock()
        decide(event)
        t2 = clock()
        base.append((t1 - t0) / 1000)
        full.append((t2 - t1) / 1000)
    print(f"machine: {machine()}")
    print(f"baseline RS256 verify alone:   {micro_summary(base)}")
    print(f"authorizer decide():           {micro_summary(full)}")
    print(
        f"ratio p99 {percentile(full, 99) / percentile(base, 99):.2f}x   "
        f"target p99 <= 100 us: {'met' if percentile(full, 99) <= 100 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
