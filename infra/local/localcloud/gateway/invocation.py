"""Calls into the Lambda emulator bounded by a timeout, leaving the function running past it."""

from __future__ import annotations

import asyncio
import functools
import logging

from localcloud.invoke import Invoker, InvokeResult

logger = logging.getLogger(__name__)


class BoundedInvoker:
    """On AWS a function outlives the 29 s integration timeout, so no invocation is cancelled.

    The invocation runs in a task of its own. The gateway waits for its result, handed over
    through `on_result` as soon as the emulator has it: not for the task's end, which
    comes after END, REPORT and the runtime's acknowledgement, and two loop turns later.
    """

    def __init__(self, invoker: Invoker, timeout_s: float) -> None:
        self._invoker = invoker
        self.timeout_s = timeout_s
        self._orphans: set[asyncio.Task[InvokeResult]] = set()

    async def invoke(
        self, function_id: str, payload: bytes, trace_header: str
    ) -> InvokeResult | None:
        """The result, or None when the timeout passed first; raises what the invoker raises."""
        result: asyncio.Future[InvokeResult] = asyncio.get_running_loop().create_future()

        def on_result(value: InvokeResult) -> None:
            if not result.done():  # not after the timeout, which cancels it
                result.set_result(value)

        task = asyncio.ensure_future(
            self._invoker.invoke(
                function_id, payload, trace_header=trace_header, on_result=on_result
            )
        )
        # The task's own end settles what on_result did not: errors, and invokers without it.
        task.add_done_callback(functools.partial(_settle, result))
        try:
            # asyncio.timeout, not wait_for: one loop turn fewer between the result and us.
            async with asyncio.timeout(self.timeout_s):
                return await result
        except TimeoutError:
            self._orphan(task)
            return None
        except asyncio.CancelledError:
            self._orphan(task)
            raise

    def _orphan(self, task: asyncio.Task[InvokeResult]) -> None:
        if not task.done():
            self._orphans.add(task)
            task.add_done_callback(self._orphans.discard)

    async def close(self) -> None:
        """Stop waiting for invocations nobody will read (only when the gateway stops)."""
        orphans = list(self._orphans)
        for task in orphans:
            task.cancel()
        if orphans:
            await asyncio.gather(*orphans, return_exceptions=True)


def _settle(result: asyncio.Future[InvokeResult], task: asyncio.Task[InvokeResult]) -> None:
    """Pass the task's outcome on if nobody has it yet; else only read it, so that asyncio does
    not report it as never retrieved, and log a failure nobody else will see."""
    if task.cancelled():
        if not result.done():
            result.cancel()
        return
    error = task.exception()
    if result.done():
        if error is not None:
            logger.error("invocation failed after its result", exc_info=error)
        return
    if error is not None:
        result.set_exception(error)
    else:
        result.set_result(task.result())
