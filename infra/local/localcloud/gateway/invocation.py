"""Calls into the Lambda emulator bounded by a timeout, leaving the function running past it."""

from __future__ import annotations

import asyncio
import contextlib

from localcloud.invoke import Invoker, InvokeResult


class BoundedInvoker:
    """On AWS a function outlives the 29 s integration timeout, so no invocation is cancelled."""

    def __init__(self, invoker: Invoker, timeout_s: float) -> None:
        self._invoker = invoker
        self.timeout_s = timeout_s
        self._orphans: set[asyncio.Task[InvokeResult]] = set()

    async def invoke(
        self, function_id: str, payload: bytes, trace_header: str
    ) -> InvokeResult | None:
        """The result, or None when the timeout passed first; raises what the invoker raises."""
        task = asyncio.ensure_future(
            self._invoker.invoke(function_id, payload, trace_header=trace_header)
        )
        try:
            # asyncio.timeout, not wait_for: one loop turn fewer between the result and us.
            async with asyncio.timeout(self.timeout_s):
                return await asyncio.shield(task)
        except TimeoutError:
            self._orphan(task)
            return None
        except asyncio.CancelledError:
            self._orphan(task)
            raise

    def _orphan(self, task: asyncio.Task[InvokeResult]) -> None:
        if task.done():
            _consume(task)
            return
        self._orphans.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[InvokeResult]) -> None:
        self._orphans.discard(task)
        _consume(task)

    async def close(self) -> None:
        """Stop waiting for invocations nobody will read (only when the gateway stops)."""
        orphans = list(self._orphans)
        for task in orphans:
            task.cancel()
        if orphans:
            await asyncio.gather(*orphans, return_exceptions=True)


def _consume(task: asyncio.Task[InvokeResult]) -> None:
    """Read a late result or error so asyncio does not report it as never retrieved."""
    if not task.cancelled():
        with contextlib.suppress(BaseException):
            task.result()
