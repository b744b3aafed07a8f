"""What every local stand-in server shares: `with Server(...) as s:` starts and stops it."""

from __future__ import annotations

import abc
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
