"""A worker's entry point: `python -m localcloud.runtime.lambda_python <handler>`.

Hides the top-level modules named in HIDDEN_MODULES_ENV (see `packages.py`), then runs AWS's
`awslambdaric` exactly as `python -m awslambdaric <handler>` would. Kept to the standard
library: everything imported here is part of every cold start.
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType
from typing import Any

HIDDEN_MODULES_ENV = "_LOCALCLOUD_HIDDEN_MODULES"


class LambdaPathFinder:
    """The standard path finder, blind to some top-level modules: `import x` fails and
    `importlib.util.find_spec(x)` is None, as for a module that is not installed."""

    def __init__(self, hidden: frozenset[str]) -> None:
        self.hidden = hidden

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if path is None and fullname in self.hidden:
            return None
        return PathFinder.find_spec(fullname, path, target)

    def __getattr__(self, name: str) -> Any:  # invalidate_caches, find_distributions
        return getattr(PathFinder, name)


def install(environ: dict[str, str] | os._Environ[str]) -> None:
    names = environ.pop(HIDDEN_MODULES_ENV, "")  # the function never sees the variable
    if names:
        hidden = frozenset(names.split(","))
        sys.meta_path[:] = [
            LambdaPathFinder(hidden) if finder is PathFinder else finder for finder in sys.meta_path
        ]


if __name__ == "__main__":
    install(os.environ)
    runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)
