"""The contract between the gateway and the Lambda runtime emulator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

InvokeStatus = Literal["ok", "error", "timeout"]


@dataclass(frozen=True)
class InvokeResult:
    status: InvokeStatus  # ok: the handler returned; error: it raised or the runtime died
    payload: bytes  # the response document, or the error document {"errorMessage","errorType",…}
    request_id: str
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status == "ok"


ResultCallback = Callable[[InvokeResult], None]


class Invoker(Protocol):
    async def invoke(
        self,
        function_id: str,
        payload: bytes,
        *,
        trace_header: str | None = None,
        on_result: ResultCallback | None = None,
    ) -> InvokeResult:
        """Run one invocation of the function with this logical id and wait for its result.

        `on_result`, when given, may be called with the result as soon as it is known, before
        the invoker's own bookkeeping (END and REPORT, the runtime's acknowledgement): a
        caller that waits for it answers its client first. An invoker may also never call it.
        """
        ...
