"""What every local stand-in server shares: `with Server(...) as s:` starts and stops it."""

from __future__ import annotations

import abc
import subprocess
from types import TracebackType
from typing import Self


class ServerProcess(abc.ABC):
    """A stand-in run as a child process; `with` starts it and stops it on the way out."""

    @abc.abstractmethod
    def start(self) -> None:
        """Start the process and return once it serves."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the process; safe to call twice."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def terminate(proc: subprocess.Popen[bytes] | None, timeout_s: float) -> None:
    """SIGTERM a child, wait for it, SIGKILL it if it outstays `timeout_s`; reaps it either way."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
