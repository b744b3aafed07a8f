"""CPU priority of the local stand-ins for AWS's telemetry services.

On AWS, CloudWatch Logs, X-Ray and the AWS APIs run on other machines; here they share the
developer's cores with the gateway, the functions and Postgres. Their work is batched and can
wait, so they take the CPU only when requests do not need it.
"""

from __future__ import annotations

import contextlib
import os

BACKGROUND_NICENESS = 19  # the X-Ray daemon: pure batch work
AWS_ENDPOINT_NICENESS = 10  # moto also answers calls a cold start waits for (the DB secret)


def lower_priority(niceness: int) -> None:
    """Raise this process's niceness to at least `niceness` (never lowers it)."""
    with contextlib.suppress(OSError):
        os.nice(max(0, niceness - os.nice(0)))
