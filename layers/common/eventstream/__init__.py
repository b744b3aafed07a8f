"""EventStream's shared package (a Lambda layer): configuration, data access and domain logic.

Submodules are imported on demand, so a handler pays only for what it uses at cold start.
"""

__version__ = "0.1.0"
