"""What every local stand-in server shares: `with Server(...) as s:` starts and stops it."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class ServerProcess:
    """A base for the stand-ins run as child processes; subclasses define start() and stop()."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

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
